"""Retention: raw mail and the bytes of mail we sent, attachments included, are removed after [storage]
keep_raw; conversations keep their text, parsed headers and attachment names. Mail still waiting, quarantined or
being sent keeps its bytes whatever its age."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select, update

from gateway.models import OutboxItem, OutboxStatus, RawMessage, RawState
from gateway.store import Store

log = logging.getLogger(__name__)
BATCH = 500
# Settled mail only: RECEIVED still needs processing, QUARANTINED may yet be released, DROPPED is kept as evidence.
_SETTLED_RAW = (RawState.PROCESSED, RawState.DUPLICATE)
_SETTLED_OUTBOX = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.CANCELLED, OutboxStatus.BOUNCED)


@dataclass(frozen=True)
class Removed:
    raw_messages: int = 0
    sent_mails: int = 0
    bytes: int = 0


def removable(store: Store, cutoff: datetime) -> Removed:
    """What apply_retention() would remove now (the bytes in the database; files are counted by message)."""
    with store.reading() as tx:
        raws, raw_bytes = tx.exec(select(func.count(), func.coalesce(func.sum(RawMessage.size), 0)).where(
            col(RawMessage.state).in_(_SETTLED_RAW), col(RawMessage.purged_at).is_(None),
            RawMessage.received_at < cutoff)).one()
        sent, sent_bytes = tx.exec(select(func.count(), func.coalesce(func.sum(func.length(OutboxItem.raw)), 0))
                                   .where(col(OutboxItem.status).in_(_SETTLED_OUTBOX),
                                          func.length(OutboxItem.raw) > 0, OutboxItem.created_at < cutoff)).one()
    return Removed(raws, sent, int(raw_bytes) + int(sent_bytes))


def apply_retention(store: Store, cutoff: datetime, now: datetime) -> Removed:
    """Remove the bytes of settled mail received or sent before `cutoff`, a batch per transaction."""
    if recovered := store.raw_files.recover():
        log.warning("retention: %d raw mail files an interrupted run had moved aside were put back", recovered)
    raws = sent = size = 0
    while batch := _purge_raw_batch(store, cutoff, now):
        raws, size = raws + batch[0], size + batch[1]
    while batch := _purge_outbox_batch(store, cutoff):
        sent, size = sent + batch[0], size + batch[1]
    log.info("retention: raw bytes of %d received and %d sent mails removed (%d bytes), all before %s", raws, sent,
             size, cutoff.isoformat(timespec="seconds"))
    return Removed(raws, sent, size)


def _purge_raw_batch(store: Store, cutoff: datetime, now: datetime) -> tuple[int, int] | None:
    with store.transaction() as tx:
        rows = tx.exec(select(RawMessage).where(
            col(RawMessage.state).in_(_SETTLED_RAW), col(RawMessage.purged_at).is_(None),
            RawMessage.received_at < cutoff).limit(BATCH).with_for_update(skip_locked=True)).all()
        if not rows:
            return None
        spools = {row.spool for row in rows if row.spool}
        in_database = sum(row.size for row in rows if not row.spool)
        for row in rows:
            row.raw, row.spool, row.purged_at = b"", "", now
        tx.flush()
        # A file is shared by every row with the same bytes: it goes when the last of them lets go of it.
        kept = set(tx.exec(select(RawMessage.spool).where(col(RawMessage.spool).in_(spools))).all()) if spools \
            else set()
    removed_files = sum(store.raw_files.remove_older_than(key, cutoff.timestamp()) for key in spools - kept)
    return len(rows), in_database + removed_files


def _purge_outbox_batch(store: Store, cutoff: datetime) -> tuple[int, int] | None:
    with store.transaction() as tx:
        rows = tx.exec(select(OutboxItem.id, func.length(OutboxItem.raw)).where(
            col(OutboxItem.status).in_(_SETTLED_OUTBOX), func.length(OutboxItem.raw) > 0,
            OutboxItem.created_at < cutoff).limit(BATCH)).all()
        if not rows:
            return None
        tx.exec(update(OutboxItem).where(col(OutboxItem.id).in_([i for i, _ in rows])).values(raw=b""))
    return len(rows), sum(n for _, n in rows)
