"""An agent's reply, relayed to the customer from the support address, threaded on the customer's side."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from gateway.actions import RelayReply
from gateway.classify import SenderKind
from gateway.models import Conversation, Customer, Direction, Message, RawMessage
from gateway.outbound.attachments import attachments_of
from gateway.outbound.compose import Addressing, build
from gateway.outbound.outbox import enqueue
from gateway.outbound.safe_html import safe_html
from gateway.reply_token import make_message_id, reply_address
from gateway.runtime import Runtime
from gateway.threading.subject import reply_subject

log = logging.getLogger(__name__)


def _last_from_customer(tx: Session, conversation: Conversation) -> Message | None:
    return tx.exec(select(Message).where(
        Message.conversation_id == conversation.id, Message.direction == Direction.IN,
        Message.kind == SenderKind.CUSTOMER).order_by(col(Message.id).desc())).first()


def queue_relay(tx: Session, rt: Runtime, action: RelayReply, conversation: Conversation, now: datetime) -> None:
    """Queue the agent's words (and files) to the customer; the agent's own address never shows."""
    customer = tx.get(Customer, conversation.customer_id)
    # The agent-mail rule only relays to an ASCII address (no SMTPUTF8 yet) of a conversation's customer.
    assert customer is not None and customer.address.isascii(), "relay needs the customer's ASCII address"
    settings = rt.settings
    parent = _last_from_customer(tx, conversation)
    references = tuple(r for r in ((*parent.references, parent.message_id) if parent else ()) if r)
    addressing = Addressing(
        from_name=f"{action.agent.name or action.agent.first_name} ({settings.mail.name})",
        from_address=conversation.channel, to=(customer.name, customer.address),
        reply_to=reply_address(rt.secret, conversation.channel, conversation.ref), reply_to_name=settings.mail.name,
        message_id=make_message_id(rt.secret, conversation.ref, settings.mail.domain),
        in_reply_to=parent.message_id if parent else "", references=references)
    source = tx.get(Message, action.source_pk)
    raw = tx.get(RawMessage, source.raw_id) if source is not None and source.raw_id else None
    subject = f"{reply_subject(conversation.subject or 'Your message')} [#{conversation.ref}]"
    html = safe_html(action.html) if action.html else ""
    mail = build(addressing, subject, action.text + "\n", now, html=html,
                 attachments=attachments_of(rt.store.raw_of(raw.raw, raw.spool)) if raw is not None else ())
    enqueue(tx, mail, conversation=conversation, kind="agent_reply", mail_from=conversation.channel,
            settings=settings, now=now, agent_id=action.agent.id)
    if conversation.first_response_at is None:
        conversation.first_response_at = now
    log.info("mid=%s conv=%s reply by %s queued for the customer", mail.message_id, conversation.ref,
             action.agent.address)
