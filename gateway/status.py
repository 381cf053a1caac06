"""What `gateway status` shows: the daemon's processes, the queues and what needs attention, read from the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from gateway.heartbeat import ProcessState, processes
from gateway.models import Conversation, Note, OutboxItem, OutboxStatus, RawMessage, RawState, Status


@dataclass(frozen=True)
class Problem:
    """The newest thing that went wrong, and where."""

    at: datetime
    where: str
    text: str


@dataclass(frozen=True)
class GatewayStatus:
    processes: list[ProcessState]
    unprocessed: int  # mail stored but not yet threaded
    oldest_unprocessed: datetime | None
    outbox_due: int  # waiting to be sent, first tries and retries
    outbox_retrying: int
    outbox_failed: int
    quarantined: int
    waiting_first_reply: int
    oldest_waiting: datetime | None
    last_error: Problem | None

    @property
    def running(self) -> bool:
        """True when an SMTP listener (`gateway serve`) is beating."""
        return any(p.role == "serve" and p.state == "running" for p in self.processes)


def gather_status(tx: Session, now: datetime) -> GatewayStatus:
    """A handful of indexed counts; nothing here reads mail bodies."""
    unprocessed, oldest = tx.exec(select(func.count(), func.min(RawMessage.received_at))
                                  .where(RawMessage.state == RawState.RECEIVED)).one()
    queued = dict(tx.exec(select(OutboxItem.status, func.count()).where(col(OutboxItem.status).in_(
        [OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.FAILED])).group_by(col(OutboxItem.status))).all())
    retrying = tx.exec(select(func.count()).select_from(OutboxItem).where(
        col(OutboxItem.status) == OutboxStatus.PENDING, col(OutboxItem.attempts) > 0)).one()
    quarantined = tx.exec(select(func.count()).select_from(RawMessage)
                          .where(RawMessage.state == RawState.QUARANTINED)).one()
    waiting, oldest_waiting = tx.exec(select(func.count(), func.min(Conversation.created_at)).where(
        col(Conversation.first_response_at).is_(None), col(Conversation.status) != Status.RESOLVED,
        col(Conversation.merged_into_id).is_(None))).one()
    found = processes(tx, now)
    return GatewayStatus(found, unprocessed, oldest, queued.get(OutboxStatus.PENDING, 0) + queued.get(
        OutboxStatus.SENDING, 0), retrying, queued.get(OutboxStatus.FAILED, 0), quarantined, waiting, oldest_waiting,
        _last_error(tx, found))


def _last_error(tx: Session, found: list[ProcessState]) -> Problem | None:
    """The newest of: an error a process logged, a delivery that failed, a message quarantined."""
    candidates = [Problem(p.last_error_at, f"{p.role} on {p.host} (pid {p.pid})", p.last_error)
                  for p in found if p.last_error_at is not None]
    failed = tx.exec(select(Note.created_at, Note.body).where(Note.kind == "delivery_failed")
                     .order_by(col(Note.created_at).desc()).limit(1)).first()
    if failed is not None:
        candidates.append(Problem(failed[0], "delivery", failed[1]))
    shunted = tx.exec(select(RawMessage.id, RawMessage.processed_at, RawMessage.stage, RawMessage.reason)
                      .where(RawMessage.state == RawState.QUARANTINED, col(RawMessage.processed_at).is_not(None))
                      .order_by(col(RawMessage.processed_at).desc()).limit(1)).first()
    if shunted is not None:
        raw_id, at, stage, reason = shunted
        candidates.append(Problem(at, f"quarantine (message {raw_id}, at {stage})", reason or ""))
    return max(candidates, key=lambda p: p.at, default=None)
