"""Conversations from other customers about the same thing: TF-IDF cosine over each one's opening words."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from gateway.agents.reply_text import extract_reply
from gateway.autoreply.articles import tokenize
from gateway.models import Conversation, Customer, Direction, Message
from gateway.threading.subject import base_subject, without_refs

# What a customer reports is in their first lines; a pasted log would only add noise and memory.
MAX_TEXT = 4000
# The subject names the problem in few words: it counts this many times more than the body.
SUBJECT_WEIGHT = 2
Vector = dict[str, float]


@dataclass(frozen=True)
class Related:
    """A conversation like the one asked about, with how alike their opening words are (0 to 1)."""

    score: float
    ref: str
    customer: str
    subject: str
    status: str
    created_at: datetime
    tags: tuple[str, ...]
    conversation_id: int


def words(subject: str, text: str) -> Counter[str]:
    """The terms of a conversation's opening: subject without Re:/[#REF], body without quotes and signature."""
    body = extract_reply(text[:MAX_TEXT]).text
    return Counter(tokenize(base_subject(without_refs(subject))) * SUBJECT_WEIGHT + tokenize(body))


def tf_idf(documents: list[Counter[str]]) -> list[Vector]:
    """Sublinear term frequency times smoothed inverse document frequency, each vector of unit length."""
    count = len(documents)
    frequency = Counter(term for doc in documents for term in doc)
    vectors = []
    for doc in documents:
        weights = {t: (1 + math.log(n)) * (math.log((1 + count) / (1 + frequency[t])) + 1) for t, n in doc.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        vectors.append({t: w / norm for t, w in weights.items()})
    return vectors


def cosine(a: Vector, b: Vector) -> float:
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return sum(w * large.get(t, 0.0) for t, w in small.items())


@dataclass(frozen=True)
class _Opening:
    conversation: Conversation
    customer: str
    words: Counter[str]


def _openings(tx: Session, around: Conversation, days: timedelta) -> Iterator[_Opening]:
    """The conversation asked about first, then every other customer's from `days` before to `days` after it;
    only the first customer message of each, cut in SQL, so no long text is ever loaded."""
    first = (select(Message.conversation_id, func.min(Message.id).label("first_id"))
             .where(Message.direction == Direction.IN, Message.kind == "customer")
             .group_by(col(Message.conversation_id)).subquery())
    query = (select(Conversation, Customer.address, func.substr(Message.text, 1, MAX_TEXT))
             .join(first, first.c.conversation_id == Conversation.id)
             .join(Message, col(Message.id) == first.c.first_id)
             .outerjoin(Customer, col(Customer.id) == Conversation.customer_id)
             .where(col(Conversation.merged_into_id).is_(None)))
    own = tx.exec(query.where(Conversation.id == around.id)).first()
    subject_only = (around, "", "")
    conversation, address, text = own or subject_only
    yield _Opening(conversation, address or "", words(conversation.subject, text or ""))
    others = query.where(col(Conversation.created_at) >= around.created_at - days,
                         col(Conversation.created_at) <= around.created_at + days,
                         col(Conversation.id) != around.id)
    if around.customer_id is not None:
        others = others.where(col(Conversation.customer_id) != around.customer_id)
    for conversation, address, text in tx.exec(others.execution_options(yield_per=500)):
        yield _Opening(conversation, address or "", words(conversation.subject, text or ""))


def related(tx: Session, around: Conversation, days: timedelta, min_score: float, limit: int) -> list[Related]:
    """Other customers' conversations whose opening words are most like this one's, best first."""
    openings = list(_openings(tx, around, days))
    vectors = tf_idf([o.words for o in openings])
    found = [Related(round(cosine(vectors[0], vector), 3), o.conversation.ref, o.customer, o.conversation.subject,
                     o.conversation.status, o.conversation.created_at, tuple(o.conversation.tags),
                     o.conversation.id)  # type: ignore[arg-type]
             for o, vector in zip(openings[1:], vectors[1:], strict=True)]
    return sorted((r for r in found if r.score >= min_score), key=lambda r: (-r.score, r.ref))[:limit]

