"""Values for `gateway templates preview` and `send-test`: a real conversation's, or plausible samples."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from gateway.autoreply.content import AutoReplyKit, acknowledgement_variables
from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.models import Conversation, Customer, Direction, Message
from gateway.templating.catalog import base_of, info
from gateway.templating.render import Rendered, render_source
from gateway.templating.samples import Variables, sample_variables
from gateway.templating.source import Source, resolve


def _customer_words(tx: Session, conversation: Conversation) -> str:
    """What the customer wrote first: the acknowledgement's article suggestions come from it."""
    first = tx.exec(select(Message).where(Message.conversation_id == conversation.id,
                                          Message.direction == Direction.IN).order_by(col(Message.id))).first()
    return f"{first.subject}\n{first.text}" if first else conversation.subject


def conversation_variables(tx: Session, name: str, ref: str, settings: Settings, now: datetime) -> Variables:
    """The variables `name` would get for conversation `ref`; what a conversation cannot say stays a sample."""
    conversation = tx.exec(select(Conversation).where(Conversation.ref == ref.strip().upper())).first()
    if conversation is None:
        raise GatewayError(f"no conversation {ref!r}; `gateway conversations list` shows the refs")
    customer = tx.get(Customer, conversation.customer_id) if conversation.customer_id else None
    if customer is None:
        raise GatewayError(f"conversation {conversation.ref} has no customer to preview with")
    partner = customer.partner or settings.is_partner(customer.address)
    if base_of(name) == "acknowledgement":
        kit = AutoReplyKit.from_settings(settings, lambda: now)
        return acknowledgement_variables(tx, kit, settings, conversation, customer, partner,
                                         _customer_words(tx, conversation), now)
    real: Variables = {
        "ref": conversation.ref, "subject": conversation.subject, "channel": conversation.channel,
        "customer_name": customer.name, "customer_address": customer.address, "team": settings.mail.name,
        "customer": f"{customer.name} <{customer.address}>" if customer.name else customer.address,
        "status": conversation.status, "priority": conversation.priority, "tags": list(conversation.tags),
        "partner": partner, "beta": conversation.channel in {c.lower() for c in settings.channels.beta},
        "address": customer.address}
    declared = info(name).variables
    return {**sample_variables(name), **{key: value for key, value in real.items() if key in declared}}


def render_preview(tx: Session, settings: Settings, name: str, *, conversation: str = "", channel: str = "",
                   language: str = "", now: datetime) -> tuple[Rendered, Source]:
    """Render the variant of `name` this channel and language get, with the conversation's values or samples."""
    found = resolve(tx, name, channel, language)
    variables = (conversation_variables(tx, found.name, conversation, settings, now) if conversation
                 else sample_variables(found.name))
    return render_source(found, variables), found
