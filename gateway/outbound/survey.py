"""The survey mail: in the conversation's thread, automatic by its headers, with a one-click opt-out (RFC 8058)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from gateway.actions import SendSurvey
from gateway.models import Conversation, Customer, Direction, Message, Survey
from gateway.outbound.compose import Addressing, compose
from gateway.outbound.outbox import enqueue
from gateway.reply_token import bounce_address, make_message_id, reply_address
from gateway.runtime import Runtime
from gateway.surveys.content import survey_variables
from gateway.surveys.links import optout_token, optout_url

log = logging.getLogger(__name__)


def _last_agent(tx: Session, conversation: Conversation) -> int | None:
    return tx.exec(select(Message.agent_id).where(
        Message.conversation_id == conversation.id, Message.direction == Direction.OUT,
        Message.kind == "agent_reply").order_by(col(Message.id).desc())).first()


def queue_survey(tx: Session, rt: Runtime, action: SendSurvey, conversation: Conversation, customer: Customer,
                 parent: Message, now: datetime) -> Survey:
    """Render the survey under `parent` (the last mail the customer saw) into the outbox, and record it."""
    settings = rt.settings
    expires_at = now + settings.surveys.link_lifetime
    addressing = Addressing(
        from_name=settings.mail.name, from_address=conversation.channel, to=(customer.name, customer.address),
        reply_to=reply_address(rt.secret, conversation.channel, conversation.ref),
        message_id=make_message_id(rt.secret, conversation.ref, settings.mail.domain),
        in_reply_to=parent.message_id, references=tuple(r for r in (*parent.references, parent.message_id) if r))
    variables = survey_variables(settings, rt.secret, ref=conversation.ref, subject=conversation.subject,
                                 customer_name=customer.name, expires_at=expires_at, language=conversation.language)
    # RFC 8058: mail clients offer "unsubscribe", and one POST to this URL opts out of surveys (not of support).
    unsubscribe = f"<{optout_url(settings.web.base_url, optout_token(rt.secret, conversation.ref))}>"
    mail = compose(action.template, variables, addressing, now, automatic="auto-generated", tx=tx,
                   channel=conversation.channel.partition("@")[0], language=conversation.language,
                   headers=(("List-Unsubscribe", unsubscribe),
                            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")))
    mail_from = bounce_address(rt.secret, conversation.channel, conversation.ref) \
        if settings.autoreply.envelope == "verp" else ""
    enqueue(tx, mail, conversation=conversation, kind="survey", mail_from=mail_from, settings=settings, now=now,
            template=mail.template)
    survey = Survey(conversation_id=conversation.id, customer_id=customer.id, channel=conversation.channel,
                    agent_id=_last_agent(tx, conversation), choices=settings.surveys.choices,
                    message_id=mail.message_id, sent_at=now, expires_at=expires_at)
    tx.add(survey)
    log.info("mid=%s conv=%s survey queued for %s (%s)", mail.message_id, conversation.ref, customer.address,
             mail.template)
    return survey
