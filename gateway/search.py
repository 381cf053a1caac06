"""Finding conversations by the words in what customers and agents wrote, through the database's full-text index:
PostgreSQL's tsvector (a GIN index) or SQLite's FTS5 table, both kept by the database itself (migration 0008).

A word matches words that start with it ("invoice" finds "invoices"), "quoted phrases" match words in that order,
and every word or phrase of the query must occur somewhere in the conversation. Case never matters; on SQLite
accents do not either. No message text is read into Python.
"""

from __future__ import annotations

import re
import shlex
from itertools import count

from sqlalchemy import ColumnElement, Select, and_, bindparam, text, true
from sqlmodel import Session, col, select

from gateway.models import Conversation, Message

# What the index holds: mail in, and agents' replies out. Our acknowledgements and the notifications that copy
# the customer's words would match every conversation for "hours", or repeat each one.
WRITTEN = "(message.direction = 'in' OR message.kind = 'agent_reply')"
# Both indexes split words at anything that is not a letter or a digit (the underscore included).
_TOKEN = re.compile(r"[^\W_]+")
_names = count()


def words_of(query: str) -> list[str]:
    """The words to look for; "quoted phrases" stay together."""
    try:
        parts = shlex.split(query)
    except ValueError:  # An unbalanced quote: take the words as typed.
        parts = query.split()
    return [part for part in (p.strip() for p in parts) if part]


def _tokens(phrase: str) -> list[str]:
    return _TOKEN.findall(phrase.lower())


def _postgres(tokens: list[str]) -> Select:  # type: ignore[type-arg]
    # The expression is the index's, written out (no parameters in it), so the planner uses the index.
    name = f"q{next(_names)}"
    query = " <-> ".join(f"'{t}'" for t in tokens) + ":*"
    found = text(f"{WRITTEN} AND to_tsvector('simple', left(message.subject || ' ' || message.text, 200000)) "
                 f"@@ to_tsquery('simple', :{name})").bindparams(bindparam(name, query))
    return select(Message.conversation_id).where(found)


def _sqlite(tokens: list[str]) -> Select:  # type: ignore[type-arg]
    name = f"q{next(_names)}"
    phrase = '"' + " ".join(tokens) + '"*'
    found = text(f"message.id IN (SELECT rowid FROM message_search WHERE message_search MATCH :{name})"
                 ).bindparams(bindparam(name, phrase))
    return select(Message.conversation_id).where(found)


def matching(tx: Session, query: str) -> ColumnElement[bool]:
    """A condition on Conversation: each word (prefix) or phrase of the query occurs in one of its messages."""
    indexed = _postgres if tx.get_bind().dialect.name == "postgresql" else _sqlite
    # A "word" of punctuation alone ("!!!") has nothing an index could hold: it narrows nothing.
    conditions = [col(Conversation.id).in_(indexed(tokens)) for tokens in map(_tokens, words_of(query)) if tokens]
    return and_(true(), *conditions)
