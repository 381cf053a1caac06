"""Stored raw mail through the pipeline again (reprocess, quarantine release), and an admin's drop.

Replaying is idempotent: mail already turned into a message is left as it is, and what is replayed goes through
the same Processor (and its de-duplication) as new mail, so nothing is stored or answered twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from gateway.errors import GatewayError
from gateway.models import Conversation, Message, RawMessage, RawState
from gateway.pipeline import Processor

# What a replay takes on; by explicit id a dropped message can come back too (nothing is ever deleted).
WAITING = (RawState.RECEIVED, RawState.QUARANTINED)


@dataclass(frozen=True)
class Replayed:
    raw_id: int
    before: str
    after: str
    conversation: str | None = None  # the ref it went to
    reason: str | None = None  # why it was (still) refused, or why it was left alone


def _outcome(tx: Session, raw_id: int, before: str) -> Replayed:
    raw = tx.get(RawMessage, raw_id)
    assert raw is not None, "a replayed message is never deleted"
    ref = tx.exec(select(Conversation.ref).join(Message, col(Message.conversation_id) == Conversation.id)
                  .where(Message.raw_id == raw_id)).first()
    return Replayed(raw_id, before, raw.state, ref, raw.reason if raw.state == RawState.QUARANTINED else None)


def replay(processor: Processor, raw_ids: list[int], states: tuple[str, ...] = WAITING) -> list[Replayed]:
    """Put the messages in `states` back to RECEIVED and process them now; report each one's outcome."""
    store = processor.rt.store
    skipped: list[Replayed] = []
    chosen: dict[int, str] = {}
    with store.transaction() as tx:
        for raw in tx.exec(select(RawMessage).where(col(RawMessage.id).in_(raw_ids)).with_for_update()).all():
            if raw.state not in states:
                skipped.append(Replayed(raw.id, raw.state, raw.state, reason=f"already {raw.state}"))  # type: ignore[arg-type]
                continue
            chosen[raw.id] = raw.state  # type: ignore[index]
            raw.state, raw.stage, raw.reason = RawState.RECEIVED, None, None
    processor.process(*chosen)
    with store.reading() as tx:
        done = [_outcome(tx, raw_id, before) for raw_id, before in chosen.items()]
    return sorted(done + skipped, key=lambda r: r.raw_id)


def drop(tx: Session, raw_id: int, by: str, now: datetime) -> RawMessage:
    """Mark quarantined mail as dropped by an admin; the row, its bytes and the first reason stay."""
    raw = tx.get(RawMessage, raw_id)
    if raw is None or raw.state != RawState.QUARANTINED:
        raise GatewayError(f"no quarantined mail with id {raw_id}; `gateway quarantine list` shows the ids")
    raw.state = RawState.DROPPED
    raw.reason = f"{raw.reason or 'no reason recorded'} [dropped by {by} at {now:%Y-%m-%d %H:%M} UTC]"
    raw.processed_at = now
    return raw
