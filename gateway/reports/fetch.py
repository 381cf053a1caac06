"""The report's queries: SQL counts and groups, so a store of a million messages is read through its indexes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache

from sqlalchemy import Integer, String, and_, cast, func, or_
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session, col, select

from gateway.models import (Agent, Conversation, Customer, Direction, KnownIssue, Message, Note, OutboxItem,
                            OutboxStatus, Status)
from gateway.reports.rows import (AgentRow, ConversationRow, KnownIssueRow, MessageCount, ReportRows,
                                  SkippedAcknowledgement)
from gateway.reports.window import Window

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The messages a report counts: from customers, replies to them, acknowledgements and machine mail.
COUNTED = (("in", "customer"), ("out", "agent_reply"), ("out", "acknowledgement"), ("in", "auto_reply"),
           ("in", "bounce"), ("in", "bulk"), ("in", "feedback_report"))
# A human exchange: the customer writing, or an agent's reply relayed to them.
EXCHANGE = or_(and_(col(Message.direction) == Direction.IN, col(Message.kind) == "customer"),
               and_(col(Message.direction) == Direction.OUT, col(Message.kind) == "agent_reply"))


def slot_size(zone: tzinfo, window: Window) -> timedelta:
    """Hours, unless the desk's zone is offset by part of an hour (India, Nepal): then quarter hours."""
    offsets = {zone.utcoffset(window.since.astimezone(zone).replace(tzinfo=None)),
               zone.utcoffset(window.until.astimezone(zone).replace(tzinfo=None))}
    whole = all(o is not None and o.total_seconds() % 3600 == 0 for o in offsets)
    return timedelta(hours=1) if whole else timedelta(minutes=15)


def _slot(column: object, dialect: str, size: timedelta) -> ColumnElement[int]:
    """The slot number of a timestamp (seconds since 1970 // slot size), computed by the database."""
    seconds = int(size.total_seconds())
    if dialect == "sqlite":
        return cast(cast(func.strftime("%s", column), Integer) // seconds, Integer)
    return cast(func.floor(func.extract("epoch", column) / seconds), Integer)


def _tags(value: object) -> tuple[str, ...]:
    """Tags as the driver gives them: a list (PostgreSQL) or JSON text (SQLite, and any tags cast to text)."""
    if isinstance(value, str):
        return _parsed_tags(value)
    return tuple(str(t) for t in value or ())  # type: ignore[attr-defined]


@lru_cache(maxsize=4096)
def _parsed_tags(text: str) -> tuple[str, ...]:
    # A handful of distinct tag sets recur across thousands of rows.
    return tuple(str(t) for t in json.loads(text) or ())


def _cohort(window: Window, channel: str | None) -> ColumnElement[bool]:
    """Conversations opened in the window (on one channel), merged ones left out: they live on in another."""
    where = and_(col(Conversation.created_at) >= window.since, col(Conversation.created_at) < window.until,
                 col(Conversation.merged_into_id).is_(None))
    return and_(where, col(Conversation.channel) == channel) if channel else where


def fetch_rows(tx: Session, window: Window, channel: str | None, is_partner: Callable[[str], bool],
               zone: tzinfo, split: bool = False, by_agent: bool = False) -> ReportRows:
    """Every row the report computes from, in a handful of aggregate queries; `split` also counts messages per
    channel and tag set (for --by channel or tag)."""
    return ReportRows(conversations=_conversations(tx, window, channel, is_partner),
                      messages=_messages_by_slot(tx, window, channel, slot_size(zone, window)),
                      by_group=_messages_by_group(tx, window, channel) if split else None,
                      skipped=_skipped(tx, window, channel),
                      failed_acknowledgements=_failed_acknowledgements(tx, window, channel),
                      known_issues=[KnownIssueRow(n, t) for n, t in tx.exec(
                          select(KnownIssue.name, KnownIssue.created_at)).all()],
                      agents=_agents(tx, window, channel) if by_agent else None)


def _conversations(tx: Session, window: Window, channel: str | None,
                   is_partner: Callable[[str], bool]) -> list[ConversationRow]:
    # IN, not a join: the database then walks the cohort and looks each one's messages up in the index.
    cohort = select(Conversation.id).where(_cohort(window, channel))
    exchanges = dict(tx.exec(select(Message.conversation_id, func.count()).where(
        col(Message.conversation_id).in_(cohort), EXCHANGE).group_by(col(Message.conversation_id))).all())
    reopened = set(tx.exec(
        select(Note.conversation_id).join(Conversation, col(Conversation.id) == Note.conversation_id)
        .where(_cohort(window, channel), col(Note.kind) == "reopened").distinct()).all())
    rows = tx.exec(
        select(Conversation.id, Conversation.created_at, Conversation.channel, Conversation.status,
               cast(Conversation.tags, String), Conversation.first_response_at, Conversation.resolved_at,
               Customer.partner, Customer.address)
        .outerjoin(Customer, col(Conversation.customer_id) == col(Customer.id)).where(_cohort(window, channel))
        .execution_options(yield_per=5000))  # Streamed: a store's every row is never in memory twice.
    return [ConversationRow(cid, created, chan, status, _tags(tags), bool(partner) or bool(address and is_partner(
        address)), first, resolved if status == Status.RESOLVED else None, exchanges.get(cid, 0), cid in reopened)
        for cid, created, chan, status, tags, first, resolved, partner, address in rows]


def _counted(query: Select, window: Window, channel: str | None) -> Select:  # type: ignore[type-arg]
    counted = or_(*(and_(col(Message.direction) == d, col(Message.kind) == k) for d, k in COUNTED))
    query = (query.select_from(Message).outerjoin(Conversation, col(Conversation.id) == Message.conversation_id)
             .where(col(Message.created_at) >= window.since, col(Message.created_at) < window.until, counted))
    return query.where(col(Conversation.channel) == channel) if channel else query


def _messages_by_slot(tx: Session, window: Window, channel: str | None, size: timedelta) -> list[MessageCount]:
    slot = _slot(Message.created_at, tx.get_bind().dialect.name, size).label("slot")
    dims = (slot, col(Message.direction), col(Message.kind))
    rows = tx.exec(_counted(select(*dims, func.count()), window, channel).group_by(*dims)).all()
    return [MessageCount(direction, kind, count, slot=EPOCH + size * number)
            for number, direction, kind, count in rows]


def _messages_by_group(tx: Session, window: Window, channel: str | None) -> list[MessageCount]:
    dims = (col(Message.direction), col(Message.kind), col(Conversation.channel),
            cast(Conversation.tags, String).label("tags"))
    rows = tx.exec(_counted(select(*dims, func.count()), window, channel).group_by(*dims)).all()
    return [MessageCount(direction, kind, count, channel=chan or "", tags=_tags(tags))
            for direction, kind, chan, tags, count in rows]


def _skipped(tx: Session, window: Window, channel: str | None) -> list[SkippedAcknowledgement]:
    query = (select(Note.created_at, Note.body, Conversation.channel, Conversation.tags)
             .join(Conversation, col(Conversation.id) == Note.conversation_id)
             .where(col(Note.kind) == "not_acknowledged", col(Note.created_at) >= window.since,
                    col(Note.created_at) < window.until))
    if channel:
        query = query.where(col(Conversation.channel) == channel)
    return [SkippedAcknowledgement(at, body, chan, _tags(tags)) for at, body, chan, tags in tx.exec(query).all()]


def _failed_acknowledgements(tx: Session, window: Window, channel: str | None) -> int:
    # Failed rows are few and the status index finds them; the row's mail bytes are never read.
    query = (select(func.count()).select_from(OutboxItem)
             .join(Conversation, col(Conversation.id) == OutboxItem.conversation_id)
             .where(col(OutboxItem.status).in_((OutboxStatus.FAILED, OutboxStatus.BOUNCED)),
                    col(OutboxItem.kind) == "acknowledgement",
                    col(OutboxItem.created_at) >= window.since, col(OutboxItem.created_at) < window.until))
    if channel:
        query = query.where(col(Conversation.channel) == channel)
    return tx.exec(query).one()


def _agents(tx: Session, window: Window, channel: str | None) -> list[AgentRow]:
    replies = (select(Agent.address, func.count(), func.count(func.distinct(Message.conversation_id)))
               .select_from(Message).join(Agent, col(Agent.id) == Message.agent_id)
               .join(Conversation, col(Conversation.id) == Message.conversation_id)
               .where(col(Message.direction) == Direction.OUT, col(Message.kind) == "agent_reply",
                      col(Message.created_at) >= window.since, col(Message.created_at) < window.until)
               .group_by(col(Agent.address)))
    resolved = (select(Agent.address, func.count()).select_from(Conversation)
                .join(Agent, col(Agent.id) == Conversation.assignee_id)
                .where(_cohort(window, channel), col(Conversation.status) == Status.RESOLVED)
                .group_by(col(Agent.address)))
    if channel:
        replies = replies.where(col(Conversation.channel) == channel)
    assigned = dict(tx.exec(resolved).all())
    rows = {address: AgentRow(address, n, convs, assigned.get(address, 0))
            for address, n, convs in tx.exec(replies).all()}
    rows.update({a: AgentRow(a, 0, 0, n) for a, n in assigned.items() if a not in rows})
    return sorted(rows.values(), key=lambda r: (-r.replies, r.agent))
