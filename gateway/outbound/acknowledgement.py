"""The acknowledgement of a new conversation, rendered with what the customer may honestly expect."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from gateway.actions import SendAcknowledgement
from gateway.autoreply.content import acknowledgement_variables
from gateway.models import Conversation, Customer, Message
from gateway.outbound.compose import Addressing, compose
from gateway.outbound.outbox import enqueue
from gateway.reply_token import bounce_address, make_message_id, reply_address
from gateway.runtime import Runtime

log = logging.getLogger(__name__)


def queue_acknowledgement(tx: Session, rt: Runtime, action: SendAcknowledgement, conversation: Conversation,
                          customer: Customer, message: Message, partner: bool, now: datetime) -> None:
    """Render the acknowledgement, threaded on the customer's mail, into the outbox."""
    settings = rt.settings
    addressing = Addressing(
        from_name=settings.mail.name, from_address=conversation.channel, to=(customer.name, customer.address),
        reply_to=reply_address(rt.secret, conversation.channel, conversation.ref),
        message_id=make_message_id(rt.secret, conversation.ref, settings.mail.domain),
        in_reply_to=message.message_id,
        references=tuple(r for r in (*message.references, message.message_id) if r))
    variables = acknowledgement_variables(tx, rt.autoreply, settings, conversation, customer, partner,
                                          f"{message.subject}\n{message.text}", now)
    mail = compose(action.template, variables, addressing, now, automatic="auto-replied", tx=tx,
                   channel=conversation.channel.partition("@")[0], language=conversation.language)
    # RFC 3834: a null envelope sender, so nothing answers it; or VERP, so a bounce names the dead address.
    mail_from = bounce_address(rt.secret, conversation.channel, conversation.ref) \
        if settings.autoreply.envelope == "verp" else ""
    enqueue(tx, mail, conversation=conversation, kind="acknowledgement", mail_from=mail_from, settings=settings,
            now=now, template=mail.template)
    log.info("mid=%s conv=%s acknowledgement queued (%s)", message.message_id or "-", conversation.ref,
             mail.template)
