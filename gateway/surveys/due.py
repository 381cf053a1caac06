"""A survey whose time has come: its facts gathered, decided by the pure rules, applied like any decision."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from gateway.agents.roster import AgentView
from gateway.apply import apply
from gateway.classify import SenderKind
from gateway.models import Conversation, Customer, Direction, Message
from gateway.runtime import Runtime
from gateway.surveys.facts import gather_survey_facts
from gateway.surveys.rules import decide_survey

log = logging.getLogger(__name__)
# What the customer sees of a conversation besides their own mail: the survey threads under the newest of these.
CUSTOMER_FACING = ("acknowledgement", "agent_reply", "survey")


def last_seen_by_customer(tx: Session, conversation: Conversation) -> Message | None:
    """The newest mail in the customer's own thread: theirs, or ours to them (never mail to agents)."""
    return tx.exec(select(Message).where(Message.conversation_id == conversation.id, or_(
        and_(Message.direction == Direction.IN, Message.kind == SenderKind.CUSTOMER),
        and_(Message.direction == Direction.OUT, col(Message.kind).in_(CUSTOMER_FACING))))
        .order_by(col(Message.id).desc())).first()


def run_due_survey(tx: Session, conversation: Conversation, rt: Runtime, roster: Sequence[AgentView],
                   now: datetime) -> None:
    """Send the survey or note why not, in the caller's transaction (which has claimed the scheduled row)."""
    # Locked: two gateways sending surveys to one customer at once must see each other's, or spacing breaks.
    customer = tx.exec(select(Customer).where(Customer.id == conversation.customer_id).with_for_update()).first()
    parent = last_seen_by_customer(tx, conversation)
    if customer is None or parent is None:
        log.info("conv=%s no survey: it has no customer or no mail of theirs", conversation.ref)
        return
    facts = gather_survey_facts(tx, conversation, customer, rt.settings, now)
    apply(tx, conversation, parent, decide_survey(facts, rt.settings, now), rt, roster, now)
