"""The order conversations need a person in: open before pending before resolved; within them higher priority,
then partners, then those still waiting for a first reply, longest wait first."""

from __future__ import annotations

from sqlalchemy import ColumnElement, case, func, or_
from sqlmodel import col

from gateway.config import Settings
from gateway.models import Conversation, Customer, Priority, Status

_STATUS_RANK = {Status.OPEN.value: 0, Status.PENDING.value: 1}
_PRIORITY_RANK = {Priority.URGENT.value: 0, Priority.HIGH.value: 1, Priority.NORMAL.value: 2, Priority.LOW.value: 3}


def is_partner(settings: Settings) -> ColumnElement[bool]:
    """The customer is a partner: flagged on the row, or named (address or @domain) in [partners] members."""
    address = func.lower(col(Customer.address))
    members = [m.lower() for m in settings.partners.members]
    named = [address.in_([m for m in members if not m.startswith("@")])] if members else []
    named += [address.like(f"%{m}") for m in members if m.startswith("@")]
    return or_(col(Customer.partner).is_(True), *named)


def waiting_since() -> ColumnElement[object]:
    """Since when the customer has been waiting on us: the start until a first reply, then the last activity."""
    return case((col(Conversation.first_response_at).is_(None), col(Conversation.created_at)),
                else_=col(Conversation.updated_at))


def attention_order(settings: Settings) -> tuple[ColumnElement[object], ...]:
    """ORDER BY terms; the query must join Customer (outer) for the partner term."""
    resolved = col(Conversation.status) == Status.RESOLVED
    return (case(_STATUS_RANK, value=col(Conversation.status), else_=2),
            case(_PRIORITY_RANK, value=col(Conversation.priority), else_=2),
            case((is_partner(settings), 0), else_=1),
            case((col(Conversation.first_response_at).is_(None), 0), else_=1),
            # Resolved ones are history: the latest first. The others: the longest wait first.
            case((resolved, None), else_=waiting_since()).asc(),
            col(Conversation.updated_at).desc(), col(Conversation.id))
