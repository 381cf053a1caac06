"""Bringing a mailbox's history in: each mail stored as raw mail from "import", then threaded by the same
pipeline (which sends nothing for it). The position commits with each batch, so an interrupted import resumes."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr, parsedate_to_datetime
from itertools import islice

from sqlmodel import col, select

from gateway.archive.headers import read_hints
from gateway.archive.mailboxes import Item, Mailbox
from gateway.imported import IMPORT_SOURCE
from gateway.models import Conversation, ImportCheckpoint, Message, RawMessage, RawState
from gateway.pipeline import Processor
from gateway.runtime import Runtime

log = logging.getLogger(__name__)
BATCH = 50
_ESSENTIAL = ("from", "to", "subject", "message-id", "date", "received", "return-path", "sender")


@dataclass
class ImportSummary:
    stored: int = 0
    not_mail: int = 0
    states: Counter[str] = field(default_factory=Counter)
    conversations: set[str] = field(default_factory=set)


def _row(item: Item, channel: str, now: datetime, peer: str) -> RawMessage | None:
    """The raw row for one mailbox item, dated as the mail was; None for what is not mail at all."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(item.raw)
    if not item.raw.strip() or not any(name.lower() in _ESSENTIAL for name in headers.keys()):
        return None
    try:
        dated = parsedate_to_datetime(str(headers.get("Date", "")))
        dated = dated.astimezone(UTC) if dated.tzinfo else dated.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        dated = None
    # Our own export says when the gateway received it; else the Date the sender wrote, else the mbox line's.
    received = read_hints(lambda name: str(headers.get(name, ""))).received
    when = min(received or dated or item.delivered_at or now, now)
    # The delivering MTA's Return-Path is the envelope sender ("<>" for a bounce); without one, the mbox line's
    # sender (a mail with no From address is its sender's only through it), else it is unknown.
    envelope = parseaddr(str(headers["Return-Path"]))[1] if headers.get("Return-Path") is not None else (
        item.line_sender or None)
    return RawMessage(received_at=when, source=IMPORT_SOURCE, mail_from=envelope, rcpt_tos=[channel] if channel else [],
                      peer=peer[:200], size=len(item.raw), raw=item.raw)


def _batches(items: Iterator[Item]) -> Iterator[list[Item]]:
    while chunk := list(islice(items, BATCH)):
        yield chunk


def position_of(rt: Runtime, box: Mailbox) -> int:
    with rt.store.reading() as tx:
        checkpoint = tx.get(ImportCheckpoint, box.source)
    return checkpoint.position if checkpoint is not None else 0


def _tally(rt: Runtime, ids: list[int], summary: ImportSummary) -> None:
    with rt.store.reading() as tx:
        summary.states.update(tx.exec(select(RawMessage.state).where(col(RawMessage.id).in_(ids))).all())
        summary.conversations.update(tx.exec(select(Conversation.ref).join(
            Message, col(Message.conversation_id) == Conversation.id).where(col(Message.raw_id).in_(ids))).all())


def import_mailbox(rt: Runtime, box: Mailbox, channel: str, now: datetime,
                   advance: Callable[[int], None]) -> ImportSummary:
    """Store and process every message after the checkpoint; mail an earlier run stored but did not process first."""
    processor = Processor(rt)
    summary = ImportSummary()
    with rt.store.reading() as tx:
        left = list(tx.exec(select(RawMessage.id).where(RawMessage.source == IMPORT_SOURCE,
                                                        RawMessage.state == RawState.RECEIVED)).all())
    if left:
        processor.process(*left)  # type: ignore[arg-type]
        _tally(rt, left, summary)  # type: ignore[arg-type]
    for chunk in _batches(box.items(position_of(rt, box))):
        rows = [row for row in (_row(item, channel, now, f"import {box.path.name}") for item in chunk) if row]
        with rt.store.transaction() as tx:
            tx.add_all(rows)
            checkpoint = tx.get(ImportCheckpoint, box.source, with_for_update=True) or ImportCheckpoint(
                source=box.source, updated_at=now)
            checkpoint.position, checkpoint.total, checkpoint.updated_at = chunk[-1].position + 1, len(box), now
            tx.add(checkpoint)
            tx.flush()
            ids = [row.id for row in rows]
        processor.process(*ids)  # type: ignore[arg-type]
        _tally(rt, ids, summary)  # type: ignore[arg-type]
        summary.stored += len(rows)
        summary.not_mail += len(chunk) - len(rows)
        advance(len(chunk))
    log.info("import of %s: %d stored, %d not mail, %s", box.source, summary.stored, summary.not_mail,
             dict(summary.states))
    return summary
