"""Sent surveys read from the store as plain rows, for `gateway surveys` and reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from gateway.models import Agent, Conversation, Customer, Survey
from gateway.surveys.stats import SurveyRow


def survey_rows(tx: Session, since: datetime | None = None, until: datetime | None = None) -> list[SurveyRow]:
    """Every survey sent in [since, until), oldest first, with its conversation's channel and tags."""
    query = (select(Survey, Conversation, Customer.address, Agent)
             .join(Conversation, col(Conversation.id) == Survey.conversation_id)
             .join(Customer, col(Customer.id) == Survey.customer_id)
             .join(Agent, col(Agent.id) == Survey.agent_id, isouter=True))
    if since is not None:
        query = query.where(col(Survey.sent_at) >= since)
    if until is not None:
        query = query.where(col(Survey.sent_at) < until)
    return [SurveyRow(ref=c.ref, subject=c.subject, customer=address, channel=s.channel, tags=tuple(c.tags),
                      agent=(a.name or a.address) if a else "", choices=s.choices, sent_at=s.sent_at,
                      rating=s.rating, comment=s.comment, rated_at=s.rated_at, rated_via=s.rated_via)
            for s, c, address, a in tx.exec(query.order_by(col(Survey.sent_at), col(Survey.id))).all()]


def ratings_by_conversation(tx: Session, ids: Sequence[int]) -> dict[int, list[object]]:
    """Each conversation's survey as plain values, for `gateway export`."""
    found: dict[int, list[object]] = {}
    for survey in tx.exec(select(Survey).where(col(Survey.conversation_id).in_(ids))).all():
        found.setdefault(survey.conversation_id, []).append({
            "sent_at": survey.sent_at.isoformat(), "choices": survey.choices, "rating": survey.rating,
            "comment": survey.comment, "rated_at": survey.rated_at.isoformat() if survey.rated_at else None,
            "rated_via": survey.rated_via})
    return found
