"""What an admin does with the outbox: see where each mail stands, send one again now, or stop one for good."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.models import Note, OutboxItem, OutboxStatus

# States as an admin thinks of them; "retrying" is a pending item that has failed at least once.
STATES = ("pending", "retrying", "sending", "failed", "sent", "bounced", "cancelled")


def state_of(status: str, attempts: int, lease_until: datetime | None, now: datetime) -> str:
    """An outbox row's state as an admin thinks of it (columns, not the row: lists need not load the bytes)."""
    if status == OutboxStatus.PENDING:
        return "retrying" if attempts else "pending"
    if status == OutboxStatus.SENDING and lease_until is not None and lease_until < now:
        return "retrying"  # Its sender died mid-send; the next sender pass takes it over.
    return status


def _note(tx: Session, item: OutboxItem, kind: str, body: str, by: str, now: datetime) -> None:
    if item.conversation_id is not None:
        tx.add(Note(conversation_id=item.conversation_id, created_at=now, kind=kind, author=by, body=body))


def retry(tx: Session, item: OutboxItem, settings: Settings, by: str, now: datetime) -> None:
    """Send a failed or waiting mail at the sender's next pass, with a fresh lifetime; same bytes, same Message-ID."""
    state = state_of(item.status, item.attempts, item.lease_until, now)
    if state not in ("pending", "retrying", "failed"):
        raise GatewayError(f"outbox {item.id} is {state}; only pending, retrying or failed mail can be retried")
    item.status, item.next_attempt_at, item.lease_until = OutboxStatus.PENDING, now, None
    item.expires_at = max(item.expires_at, now + settings.outbound.max_lifetime)
    _note(tx, item, "delivery_retried", f"Delivery of {item.message_id} to {', '.join(item.rcpt_tos)} retried "
                                        f"by an admin (after {item.attempts} attempts)", by, now)


def cancel(tx: Session, item: OutboxItem, by: str, now: datetime) -> None:
    """Never send this mail; the row stays, marked cancelled, and the conversation says so."""
    state = state_of(item.status, item.attempts, item.lease_until, now)
    if state == "sending":
        raise GatewayError(f"outbox {item.id} is being handed to the relay right now; if that fails, cancel it then")
    if state not in ("pending", "retrying", "failed"):
        raise GatewayError(f"outbox {item.id} is {state}; only mail not yet sent can be cancelled")
    item.status, item.lease_until = OutboxStatus.CANCELLED, None
    _note(tx, item, "delivery_cancelled", f"Delivery of {item.message_id} to {', '.join(item.rcpt_tos)} cancelled "
                                          "by an admin; it will not be sent", by, now)
