"""Conversations as plain records, for `conversations show` and `export`."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from gateway.clock import utc_now
from gateway.models import Agent, Conversation, Customer, Message, Note, OutboxItem, RawMessage
from gateway.outbound.queue_control import state_of
from gateway.store import Store


@dataclass(frozen=True)
class DeliveryRecord:
    """Where one of our mails stands in the outbox."""

    outbox_id: int
    state: str  # pending, retrying, sending, failed, sent, cancelled
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class MessageRecord:
    id: int
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
    attachments: list[dict[str, str | int]]
    delivery: DeliveryRecord | None = None  # for mail we sent
    raw: bytes | None = None  # the whole MIME message, when asked for


@dataclass(frozen=True)
class NoteRecord:
    time: datetime
    kind: str
    author: str
    body: str


@dataclass(frozen=True)
class ConversationRecord:
    id: int
    ref: str
    status: str
    customer: str
    customer_name: str
    partner: bool
    channel: str
    subject: str
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    linked_to: str | None
    merged_into: str | None
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
                return {k: plain(v) for k, v in value.items() if k != "raw" or v is not None}
            if isinstance(value, bytes):
                return base64.b64encode(value).decode("ascii")
            return value
        return plain(asdict(self))  # type: ignore[return-value]


def _deliveries(tx: Session, ids: list[int]) -> dict[str, DeliveryRecord]:
    """Our mails' outbox state, by Message-ID (the bytes are not loaded)."""
    now = utc_now()
    rows = tx.exec(select(OutboxItem.id, OutboxItem.message_id, OutboxItem.status, OutboxItem.attempts,
                          OutboxItem.next_attempt_at, OutboxItem.last_error, OutboxItem.lease_until)
                   .where(col(OutboxItem.conversation_id).in_(ids))).all()
    found = {}
    for item_id, message_id, status, attempts, next_at, error, lease in rows:
        state = state_of(status, attempts, lease, now)
        found[message_id] = DeliveryRecord(item_id, state, attempts, next_at if state in ("pending", "retrying")
                                           else None, error)
    return found


def _raw(tx: Session, store: Store, messages: list[Message]) -> dict[int, bytes]:
    """The whole MIME message of each: as received (or imported), or as queued for the relay; none where
    retention removed it."""
    by_raw = {m.raw_id: m.id for m in messages if m.raw_id}
    by_outbox = {m.message_id: m.id for m in messages if not m.raw_id and m.message_id}
    found: dict[int, bytes] = {}
    if by_raw:
        found.update({by_raw[i]: store.raw_of(raw, spool) for i, raw, spool in tx.exec(
            select(RawMessage.id, RawMessage.raw, RawMessage.spool).where(
                col(RawMessage.id).in_(by_raw), col(RawMessage.purged_at).is_(None)))})  # type: ignore[misc]
    if by_outbox:
        found.update({by_outbox[i]: raw for i, raw in tx.exec(select(OutboxItem.message_id, OutboxItem.raw).where(
            col(OutboxItem.message_id).in_(by_outbox), func.length(OutboxItem.raw) > 0))})  # type: ignore[misc]
    return found


def _message(m: Message, agents: dict[int, str], delivery: DeliveryRecord | None, raw: bytes | None) -> MessageRecord:
    return MessageRecord(m.id, m.message_id, m.direction, m.kind, m.sender, list(m.recipients),  # type: ignore[arg-type]
                         m.created_at, m.subject, m.text, m.matched_by,
                         agents.get(m.agent_id) if m.agent_id else None, m.stripped, list(m.attachments), delivery,
                         raw)


def conversation_records(tx: Session, refs: list[str] | None = None, batch: int = 500, *, after_id: int = 0,
                         since: datetime | None = None, raw_from: Store | None = None) -> Iterator[ConversationRecord]:
    """Every conversation (or those named, or active since) after `after_id`, oldest first, with its messages."""
    last_id = after_id
    while True:
        query = select(Conversation, Customer).join(Customer, isouter=True).where(col(Conversation.id) > last_id)
        if refs is not None:
            query = query.where(col(Conversation.ref).in_([r.upper() for r in refs]))
        if since is not None:
            query = query.where(col(Conversation.updated_at) >= since)
        rows = tx.exec(query.order_by(col(Conversation.id)).limit(batch)).all()
        if not rows:
            return
        ids = [c.id for c, _ in rows]
        agents = dict(tx.exec(select(Agent.id, Agent.address)).all())
        deliveries = _deliveries(tx, ids)  # type: ignore[arg-type]
        stored = list(tx.exec(select(Message).where(col(Message.conversation_id).in_(ids)).order_by(col(Message.id))))
        raws = _raw(tx, raw_from, stored) if raw_from is not None else {}
        messages: dict[int, list[MessageRecord]] = {i: [] for i in ids}  # type: ignore[misc]
        for m in stored:
            delivery = deliveries.get(m.message_id) if m.direction == "out" else None
            messages[m.conversation_id].append(_message(m, agents, delivery, raws.get(m.id)))  # type: ignore[index]
        notes: dict[int, list[NoteRecord]] = {i: [] for i in ids}  # type: ignore[misc]
        for n in tx.exec(select(Note).where(col(Note.conversation_id).in_(ids)).order_by(col(Note.id))):
            notes[n.conversation_id].append(NoteRecord(n.created_at, n.kind, n.author, n.body))
        pointed = [i for c, _ in rows for i in (c.linked_to_id, c.merged_into_id) if i]
        refs_of = dict(tx.exec(select(Conversation.id, Conversation.ref).where(col(Conversation.id).in_(pointed))).all())
        for conversation, customer in rows:
            yield ConversationRecord(
                conversation.id, conversation.ref, conversation.status,  # type: ignore[arg-type]
                customer.address if customer else "", customer.name if customer else "",
                bool(customer and customer.partner), conversation.channel,
                conversation.subject, conversation.created_at, conversation.updated_at,
                conversation.first_response_at, conversation.resolved_at,
                refs_of.get(conversation.linked_to_id), refs_of.get(conversation.merged_into_id),  # type: ignore[arg-type]
                conversation.priority, list(conversation.tags),
                agents.get(conversation.assignee_id) if conversation.assignee_id else None,
                messages[conversation.id], notes[conversation.id])  # type: ignore[index]
        last_id = rows[-1][0].id  # type: ignore[assignment]
