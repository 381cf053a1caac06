"""What the survey pages read and write in the store; each call is one short transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from gateway.models import Conversation, Customer, Survey
from gateway.store import Store
from gateway.surveys.answers import record_rating, set_opt_out
from gateway.threading.match import by_ref


@dataclass(frozen=True)
class SurveyPage:
    """One sent survey, as its rating page shows it."""

    survey_id: int
    ref: str
    subject: str
    choices: int
    rating: int | None
    comment: str
    rated_at: datetime | None


@dataclass(frozen=True)
class OptOutPage:
    """The customer a survey's opt-out link speaks for."""

    ref: str
    address: str
    opted_out_at: datetime | None


def load_survey_page(store: Store, ref: str) -> SurveyPage | None:
    with store.reading() as tx:
        # The survey stays with the conversation it was sent for, even one merged since: no by_ref() here.
        found = tx.exec(select(Survey, Conversation).join(Conversation, col(Conversation.id) == Survey.conversation_id)
                        .where(Conversation.ref == ref)).first()
        if found is None:
            return None
        survey, conversation = found
        return SurveyPage(survey.id, conversation.ref, conversation.subject, survey.choices,  # type: ignore[arg-type]
                          survey.rating, survey.comment, survey.rated_at)


def save_rating(store: Store, survey_id: int, rating: int, comment: str, now: datetime) -> None:
    with store.transaction() as tx:
        record_rating(tx, survey_id, rating, comment, "web", now)


def _customer(tx: Session, ref: str) -> Customer | None:
    # Merging keeps the customer (only one customer's conversations merge), so the surviving row names them.
    conversation = by_ref(tx, ref)
    return tx.get(Customer, conversation.customer_id) if conversation and conversation.customer_id else None


def load_opt_out(store: Store, ref: str) -> OptOutPage | None:
    with store.reading() as tx:
        customer = _customer(tx, ref)
        return OptOutPage(ref, customer.address, customer.surveys_opted_out_at) if customer else None


def save_opt_out(store: Store, ref: str, opted_out: bool, now: datetime) -> None:
    with store.transaction() as tx:
        customer = _customer(tx, ref)
        if customer is not None:
            set_opt_out(tx, customer, opted_out, now)
