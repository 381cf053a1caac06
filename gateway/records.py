"""Conversations as plain records, for `conversations show --json` and `export`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from gateway.models import Agent, Conversation, Customer, Message, Note


@dataclass(frozen=True)
class MessageRecord:
    message_id: str
    direction: str
    kind: str
    sender: str
    recipients: list[str]
    time: datetime
    subject: str
    text: str
    placed_by: str | None
    agent: str | None
    stripped: str  # what reply stripping cut from an agent's mail


@dataclass(frozen=True)
class NoteRecord:
    time: datetime
    kind: str
    author: str
    body: str


@dataclass(frozen=True)
class ConversationRecord:
    ref: str
    status: str
    customer: str
    channel: str
    subject: str
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    linked_to: str | None
    priority: str
    tags: list[str]
    assignee: str | None
    messages: list[MessageRecord]
    notes: list[NoteRecord]

    def to_json(self) -> dict[str, object]:
        def plain(value: object) -> object:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, list):
                return [plain(v) for v in value]
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value
        return plain(asdict(self))  # type: ignore[return-value]


def _message(m: Message, agents: dict[int, str]) -> MessageRecord:
    return MessageRecord(m.message_id, m.direction, m.kind, m.sender, list(m.recipients), m.created_at,
                         m.subject, m.text, m.matched_by, agents.get(m.agent_id) if m.agent_id else None, m.stripped)


def conversation_records(tx: Session, refs: list[str] | None = None, batch: int = 500) -> Iterator[ConversationRecord]:
    """Every conversation (or those named), oldest first, each with its messages in order."""
    last_id = 0
    while True:
        query = select(Conversation, Customer).join(Customer, isouter=True).where(col(Conversation.id) > last_id)
        if refs is not None:
            query = query.where(col(Conversation.ref).in_([r.upper() for r in refs]))
        rows = tx.exec(query.order_by(col(Conversation.id)).limit(batch)).all()
        if not rows:
            return
        ids = [c.id for c, _ in rows]
        agents = dict(tx.exec(select(Agent.id, Agent.address)).all())
        messages: dict[int, list[MessageRecord]] = {i: [] for i in ids}  # type: ignore[misc]
        for m in tx.exec(select(Message).where(col(Message.conversation_id).in_(ids)).order_by(col(Message.id))):
            messages[m.conversation_id].append(_message(m, agents))  # type: ignore[index]
        notes: dict[int, list[NoteRecord]] = {i: [] for i in ids}  # type: ignore[misc]
        for n in tx.exec(select(Note).where(col(Note.conversation_id).in_(ids)).order_by(col(Note.id))):
            notes[n.conversation_id].append(NoteRecord(n.created_at, n.kind, n.author, n.body))
        linked = {c.id: c.ref for c in tx.exec(select(Conversation).where(
            col(Conversation.id).in_([c.linked_to_id for c, _ in rows if c.linked_to_id])))}
        for conversation, customer in rows:
            yield ConversationRecord(
                conversation.ref, conversation.status, customer.address if customer else "", conversation.channel,
                conversation.subject, conversation.created_at, conversation.updated_at,
                conversation.first_response_at, conversation.resolved_at,
                linked.get(conversation.linked_to_id) if conversation.linked_to_id else None,
                conversation.priority, list(conversation.tags),
                agents.get(conversation.assignee_id) if conversation.assignee_id else None,
                messages[conversation.id], notes[conversation.id])  # type: ignore[index]
        last_id = rows[-1][0].id  # type: ignore[assignment]
