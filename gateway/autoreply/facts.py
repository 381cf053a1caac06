"""What the store knows about auto-replying to one address, gathered before the rules decide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from gateway.models import Customer, OutboxItem

ACKNOWLEDGEMENT = "acknowledgement"
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class AutoReplyFacts:
    """Counts over the last hour for one address, and what is known of its bounces and breaker."""

    acknowledgements_last_hour: int = 0  # to this address, on any conversation
    automatic_last_hour: int = 0  # every automatic mail to this address
    bounced_at: datetime | None = None
    breaker_tripped_at: datetime | None = None


def gather_facts(tx: Session, customer: Customer, now: datetime) -> AutoReplyFacts:
    """One indexed query; run only for a new conversation, the only kind that is acknowledged."""
    acks, automatic = tx.exec(
        select(func.count(case((col(OutboxItem.kind) == ACKNOWLEDGEMENT, 1))),
               func.count(case((col(OutboxItem.automatic), 1))))
        .where(OutboxItem.recipient == customer.address.lower(), col(OutboxItem.created_at) > now - HOUR)).one()
    return AutoReplyFacts(acknowledgements_last_hour=acks or 0, automatic_last_hour=automatic or 0,
                          bounced_at=customer.bounced_at, breaker_tripped_at=customer.breaker_tripped_at)
