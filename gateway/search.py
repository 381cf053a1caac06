"""Finding conversations by the words in what customers and agents wrote, through the database's full-text index:
PostgreSQL's stored tsvector with a GIN index (migration 0010) or SQLite's FTS5 table (0008), both kept by the
database itself.

A word matches words that start with it ("invoice" finds "invoices"), "quoted phrases" match words in that order,
and every word or phrase of the query must occur somewhere in the conversation. Case never matters; on SQLite
accents do not either. No message text is read into Python.
"""

from __future__ import annotations

import re
import shlex
from itertools import count

from sqlalchemy import ColumnElement, Integer, Select, and_, any_, bindparam, text, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, col, select

from gateway.models import Conversation, Message

# What the indexes hold (migrations 0008, 0010): mail in, and agents' replies out. Our acknowledgements and the
# notifications that copy the customer's words would match every conversation for "hours", or repeat each one.
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


def _postgres_hits(tx: Session, tokens: list[str]) -> set[int]:
    """The conversations with a message (in, or an agent's reply) holding these words, read through the stored tsvector's index."""
    query = " <-> ".join(f"'{t}'" for t in tokens) + ":*"
    found = text("message.search_words @@ to_tsquery('simple', :words)").bindparams(words=query)
    return set(tx.exec(select(Message.conversation_id).where(found).distinct()).all())  # type: ignore[arg-type]


def _sqlite(tokens: list[str]) -> Select:  # type: ignore[type-arg]
    name = f"q{next(_names)}"
    phrase = '"' + " ".join(tokens) + '"*'
    found = text(f"message.id IN (SELECT rowid FROM message_search WHERE message_search MATCH :{name})"
                 ).bindparams(bindparam(name, phrase))
    return select(Message.conversation_id).where(found)


def search_terms(query: str) -> list[list[str]]:
    """Each word or phrase of the query as the index's tokens; punctuation alone ("!!!") holds none, and is left out."""
    return [tokens for tokens in map(_tokens, words_of(query)) if tokens]


def matching(tx: Session, query: str) -> ColumnElement[bool]:
    """A condition on Conversation: each word (prefix) or phrase of the query occurs in one of its messages."""
    groups = search_terms(query)
    if not groups:
        return true()
    if tx.get_bind().dialect.name != "postgresql":
        return and_(*(col(Conversation.id).in_(_sqlite(tokens)) for tokens in groups))
    # Looked up first, on their own: inside the listing's query PostgreSQL cannot estimate how many messages a
    # word prefix matches, and with the LIMIT it picks a nested loop over the matches, a minute on 1M messages.
    hits = set.intersection(*(_postgres_hits(tx, tokens) for tokens in groups))
    return col(Conversation.id) == any_(bindparam("search_hits", sorted(hits), type_=ARRAY(Integer)))
