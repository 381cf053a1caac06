"""Finding conversations by the words in their subject and in what customers and agents wrote.

One function, so a full-text index (PostgreSQL tsvector, SQLite FTS5) can replace the portable LIKE scan
without touching its callers. The scan runs in the database: no message text is loaded into Python.
"""

from __future__ import annotations

import shlex

from sqlalchemy import ColumnElement, and_, exists, or_, true
from sqlmodel import Session, col, select

from gateway.models import Conversation, Direction, Message

# What people wrote: mail in, and agents' replies out. Our acknowledgements and the notifications that copy the
# customer's words would match every conversation for "hours" or repeat each one.
_WRITTEN_OUT = ("agent_reply",)


def words_of(query: str) -> list[str]:
    """The words to look for; "quoted phrases" stay together."""
    try:
        parts = shlex.split(query)
    except ValueError:  # An unbalanced quote: take the words as typed.
        parts = query.split()
    return [part for part in (p.strip() for p in parts) if part]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matching(tx: Session, query: str) -> ColumnElement[bool]:
    """A condition on Conversation: every word (or phrase) occurs in its subject or in a message's subject or text.

    Case-insensitive. `tx` is here so an implementation can pick the database's own full-text search.
    """
    del tx  # The portable scan needs no dialect; an indexed implementation will.
    conditions = []
    for word in words_of(query):
        pattern = _like(word)
        written = or_(col(Message.direction) == Direction.IN, col(Message.kind).in_(_WRITTEN_OUT))
        in_messages = exists(select(Message.id).where(
            Message.conversation_id == Conversation.id, written,
            or_(col(Message.subject).ilike(pattern, escape="\\"), col(Message.text).ilike(pattern, escape="\\"))))
        conditions.append(or_(col(Conversation.subject).ilike(pattern, escape="\\"), in_messages))
    return and_(true(), *conditions)
