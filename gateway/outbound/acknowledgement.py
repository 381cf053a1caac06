"""The acknowledgement of a new conversation: when it is due (a rule), and the mail itself."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from gateway.actions import SendAcknowledgement
from gateway.config import Settings
from gateway.decision import Context, Decision
from gateway.models import Conversation, Customer, Message, Note
from gateway.outbound.compose import Addressing, compose
from gateway.outbound.outbox import enqueue
from gateway.reply_token import make_message_id, reply_address
from gateway.threading.subject import reply_subject

log = logging.getLogger(__name__)


def acknowledge(ctx: Context) -> Decision:
    """Acknowledge a person's new conversation, once per conversation."""
    if not ctx.sender.is_customer or not ctx.sender.address or not ctx.conversation.is_new:
        return Decision()
    return Decision(actions=(SendAcknowledgement(),))


def queue_acknowledgement(tx: Session, action: SendAcknowledgement, conversation: Conversation,
                          customer: Customer, message: Message, settings: Settings, secret: str,
                          now: datetime) -> None:
    """Render the acknowledgement, threaded on the customer's mail, into the outbox."""
    mid = message.message_id or "-"
    if not customer.address.isascii():
        # Such an address needs SMTPUTF8 all the way to the customer; we do not send that yet.
        tx.add(Note(conversation_id=conversation.id, created_at=now, kind="not_acknowledged",
                    body=f"No acknowledgement sent: {customer.address} needs SMTPUTF8."))
        log.warning("mid=%s conv=%s no acknowledgement: non-ASCII address", mid, conversation.ref)
        return
    addressing = Addressing(
        from_name=settings.mail.name, from_address=conversation.channel, to=(customer.name, customer.address),
        reply_to=reply_address(secret, conversation.channel, conversation.ref),
        message_id=make_message_id(secret, conversation.ref, settings.mail.domain),
        in_reply_to=message.message_id,
        references=tuple(r for r in (*message.references, message.message_id) if r))
    variables = {"customer_name": customer.name.split(" ")[0] if customer.name else "",
                 "subject": conversation.subject,
                 "reply_subject": reply_subject(conversation.subject or "Your message"),
                 "ref": conversation.ref, "team": settings.mail.name}
    mail = compose(action.template, variables, addressing, now, automatic="auto-replied")
    # RFC 3834: automatic replies go out with a null envelope sender, so nothing answers them.
    enqueue(tx, mail, conversation=conversation, kind="acknowledgement", mail_from="", settings=settings, now=now)
    log.info("mid=%s conv=%s acknowledgement queued", mid, conversation.ref)
