"""The order conversations need a person in: open before pending before resolved; within them higher priority,
then partners, then those still waiting for a first reply, then the longest wait for an answer."""

from __future__ import annotations

from sqlalchemy import ColumnElement, ScalarSelect, case, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from gateway.classify import SenderKind
from gateway.config import Settings
from gateway.models import Conversation, Customer, Direction, Message, Priority, Status

_STATUS_RANK = {Status.OPEN.value: 0, Status.PENDING.value: 1}
_PRIORITY_RANK = {Priority.URGENT.value: 0, Priority.HIGH.value: 1, Priority.NORMAL.value: 2, Priority.LOW.value: 3}


def is_partner(settings: Settings) -> ColumnElement[bool]:
    """The customer is a partner: flagged on the row, or named (address or @domain) in [partners] members."""
    address = func.lower(col(Customer.address))
    members = [m.lower() for m in settings.partners.members]
    named = [address.in_([m for m in members if not m.startswith("@")])] if members else []
    named += [address.like(f"%{m}") for m in members if m.startswith("@")]
    return or_(col(Customer.partner).is_(True), *named)


def waiting_since() -> ScalarSelect[object]:
    """The customer's first message after our last answer: since then they wait for us (NULL: they have it)."""
    reply = aliased(Message)
    last_answer = (select(func.max(reply.created_at))
                   .where(reply.conversation_id == Conversation.id, reply.direction == Direction.OUT,
                          reply.kind == "agent_reply").correlate(Conversation).scalar_subquery())
    return (select(func.min(Message.created_at))
            .where(Message.conversation_id == Conversation.id, Message.direction == Direction.IN,
                   Message.kind == SenderKind.CUSTOMER, or_(last_answer.is_(None), Message.created_at > last_answer))
            .correlate(Conversation).scalar_subquery())


def attention_order(settings: Settings, waiting: ScalarSelect[object]) -> tuple[ColumnElement[object], ...]:
    """ORDER BY terms; the query must join Customer (outer) for the partner term and select `waiting`."""
    resolved = col(Conversation.status) == Status.RESOLVED
    return (case(_STATUS_RANK, value=col(Conversation.status), else_=2),
            case(_PRIORITY_RANK, value=col(Conversation.priority), else_=2),
            case((is_partner(settings), 0), else_=1),
            case((col(Conversation.first_response_at).is_(None), 0), else_=1),
            # Resolved ones, and those where the customer has our answer, by their latest activity.
            case((resolved | waiting.is_(None), 1), else_=0), case((resolved, None), else_=waiting).asc(),
            col(Conversation.updated_at).desc(), col(Conversation.id))
