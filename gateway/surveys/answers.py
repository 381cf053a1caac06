"""What a customer's answer changes in the store, whether it came from the rating page or by mail."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from gateway.models import Conversation, Customer, Note, Survey
from gateway.surveys.choices import label
from gateway.surveys.mail_rating import COMMENT_LIMIT

log = logging.getLogger(__name__)


def record_rating(tx: Session, survey_id: int, rating: int, comment: str, via: str, now: datetime) -> Survey:
    """Keep the rating and comment (a later answer replaces an earlier one); a note shows it on the conversation."""
    survey = tx.get(Survey, survey_id)
    assert survey is not None, "answers are only read for surveys we sent"
    if not 1 <= rating <= survey.choices:
        raise ValueError(f"rating {rating} is not between 1 and {survey.choices}")
    survey.rating, survey.comment = rating, comment.strip()[:COMMENT_LIMIT]
    survey.rated_at, survey.rated_via = now, via
    tx.add(survey)
    conversation = tx.get(Conversation, survey.conversation_id)
    words = f"{rating} ({label(survey.choices, rating)})" + (f": {survey.comment}" if survey.comment else "")
    tx.add(Note(conversation_id=survey.conversation_id, created_at=now, kind="survey_answer",
                body=f"Survey answered {'by mail' if via == 'mail' else 'on the rating page'}: {words}"))
    log.info("conv=%s survey answered via %s: %d of %d", conversation.ref if conversation else "-", via, rating,
             survey.choices)
    return survey


def set_opt_out(tx: Session, customer: Customer, opted_out: bool, now: datetime) -> None:
    """Opt a customer out of surveys (or back in); support mail is never affected."""
    if opted_out and customer.surveys_opted_out_at is None:
        customer.surveys_opted_out_at = now
    elif not opted_out:
        customer.surveys_opted_out_at = None
    tx.add(customer)
    log.info("customer=%s surveys %s", customer.address, "opted out" if opted_out else "opted back in")
