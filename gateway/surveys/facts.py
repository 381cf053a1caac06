"""Read what the send-time rules must know about a due survey (the rules themselves do no I/O)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from gateway.autoreply.facts import gather_facts
from gateway.classify import SenderKind
from gateway.config import Settings
from gateway.models import Conversation, Customer, Direction, Message, Survey
from gateway.surveys.rules import SurveyFacts

AGENT_REPLY = "agent_reply"


def _has_message(tx: Session, conversation: Conversation, direction: str, kind: str) -> bool:
    return tx.exec(select(Message.id).where(Message.conversation_id == conversation.id,
                                            Message.direction == direction, Message.kind == kind)
                   .limit(1)).first() is not None


def gather_survey_facts(tx: Session, conversation: Conversation, customer: Customer, settings: Settings,
                        now: datetime) -> SurveyFacts:
    """The facts for one conversation; call with the customer's row locked, so the spacing holds across
    gateways that send two of their surveys at once."""
    already = tx.exec(select(Survey.id).where(Survey.conversation_id == conversation.id)).first() is not None
    last = tx.exec(select(func.max(Survey.sent_at)).where(Survey.customer_id == customer.id)).one()
    return SurveyFacts(
        ref=conversation.ref, status=conversation.status, channel=conversation.channel,
        customer_address=customer.address, merged=conversation.merged_into_id is not None,
        no_survey=conversation.no_survey, already_surveyed=already,
        customer_wrote=_has_message(tx, conversation, Direction.IN, SenderKind.CUSTOMER),
        agent_replied=_has_message(tx, conversation, Direction.OUT, AGENT_REPLY),
        partner=customer.partner or settings.is_partner(customer.address),
        opted_out_at=customer.surveys_opted_out_at, bounced_at=customer.bounced_at, last_surveyed_at=last,
        automatic_last_hour=gather_facts(tx, customer, now).automatic_last_hour)
