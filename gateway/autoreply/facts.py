"""What the store knows about auto-replying to one address, gathered before the rules decide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from gateway.models import Conversation, Customer, OutboxItem

ACKNOWLEDGEMENT = "acknowledgement"
AGENT_REPLY = "agent_reply"
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class AutoReplyFacts:
    """Counts over the last hour, and this conversation's own history of acknowledgements."""

    # An acknowledgement went out on this conversation and no agent has answered since.
    acknowledged: bool = False
    acknowledgements_last_hour: int = 0  # to this address, on any conversation
    automatic_last_hour: int = 0  # every automatic mail to this address
    bounced_at: datetime | None = None
    breaker_tripped_at: datetime | None = None


def gather_facts(tx: Session, conversation: Conversation, customer: Customer, now: datetime) -> AutoReplyFacts:
    """Two indexed queries; run only when an acknowledgement may be due (a new or reopened conversation)."""
    address = customer.address.lower()
    acks, automatic = tx.exec(
        select(func.count(case((col(OutboxItem.kind) == ACKNOWLEDGEMENT, 1))),
               func.count(case((col(OutboxItem.automatic), 1))))
        .where(OutboxItem.recipient == address, col(OutboxItem.created_at) > now - HOUR)).one()
    last = dict(tx.exec(select(OutboxItem.kind, func.max(OutboxItem.created_at))
                        .where(OutboxItem.conversation_id == conversation.id,
                               col(OutboxItem.kind).in_((ACKNOWLEDGEMENT, AGENT_REPLY)))
                        .group_by(col(OutboxItem.kind))).all())
    acked, answered = last.get(ACKNOWLEDGEMENT), last.get(AGENT_REPLY)
    return AutoReplyFacts(acknowledged=acked is not None and (answered is None or answered < acked),
                          acknowledgements_last_hour=acks or 0, automatic_last_hour=automatic or 0,
                          bounced_at=customer.bounced_at, breaker_tripped_at=customer.breaker_tripped_at)
