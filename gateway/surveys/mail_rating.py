"""A customer's reply to a survey mail that starts with a number: a rating and a comment, not a new request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from gateway.agents.reply_text import extract_reply
from gateway.message import ParsedMessage
from gateway.models import Conversation, Status, Survey

COMMENT_LIMIT = 2000
# The kind of a customer's mail that answers our survey with a rating: an answer, not a request.
RATING_KIND = "survey_rating"
# "4", "4!", "4/5", "4 out of 5 - thanks", "[5] great": a lone digit first; "4.5", "45" or "10" are not ratings.
_RATING = re.compile(r"^[\s\[(*]*(?P<n>\d)(?![\d.,]\d|\d)(?:\s*(?:/|of|out of|von)\s*\d\b)?[\s\])*]*"
                     r"(?:(?:stars?|stern(?:e|en)?)\b)?[\s\-–—:.,;!)]*(?P<rest>.*)$", re.I)


@dataclass(frozen=True)
class SurveyReply:
    """A rating read from a reply to one of our surveys."""

    survey_id: int
    rating: int
    comment: str


def read_rating(text: str, scale: int) -> tuple[int, str] | None:
    """(rating, comment) when what the customer wrote starts with a number from 1 to `scale`, else None."""
    lines = text.strip().splitlines()
    match = _RATING.match(lines[0]) if lines else None
    if match is None or not 1 <= int(match["n"]) <= scale:
        return None
    comment = "\n".join([match["rest"], *lines[1:]]).strip()
    return int(match["n"]), comment[:COMMENT_LIMIT]


def find_survey_reply(tx: Session, msg: ParsedMessage, conversation: Conversation, customer_id: int | None,
                      now: datetime) -> SurveyReply | None:
    """The rating in the survey's customer's direct reply to one of our survey mails, while the conversation is
    still resolved and the links are valid; else None (the mail is then an ordinary customer message)."""
    # In-Reply-To alone: a later mail of the thread carries the survey in References, and after a reopen
    # "2 printers are down again" is a request, not a rating.
    answered = {i.strip() for i in msg.in_reply_to}
    if not answered or customer_id is None or conversation.status != Status.RESOLVED:
        return None
    # By Message-ID, not by conversation: it stays right when the conversation was merged since.
    survey = tx.exec(select(Survey).where(col(Survey.message_id).in_(answered))).first()
    if survey is None or survey.customer_id != customer_id or now >= survey.expires_at:
        return None
    found = read_rating(extract_reply(msg.text, msg.html).text, survey.choices)
    return SurveyReply(survey.id, *found) if found else None  # type: ignore[arg-type]
