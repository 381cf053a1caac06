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


def sample_acknowledgement(tx: Session, settings: Settings, name: str, channel: str, language: str,
                           now: datetime) -> Variables:
    """A sample customer's acknowledgement, but with this install's real hours, reply times, links and incidents."""
    local = channel.partition("@")[0].lower()
    address = next((a for a in settings.support_addresses if a.partition("@")[0] == local),
                   settings.mail.addresses[0].lower())
    sample = sample_variables(name)
    conversation = Conversation(ref=str(sample["ref"]), subject=str(sample["subject"]), channel=address,
                                created_at=now, updated_at=now, language=language)
    customer = Customer(address="anne@customer.example", name=str(sample["customer_name"]), created_at=now)
    kit = AutoReplyKit.from_settings(settings, lambda: now)
    return acknowledgement_variables(tx, kit, settings, conversation, customer, False, conversation.subject, now)


def render_preview(tx: Session, settings: Settings, name: str, *, conversation: str = "", channel: str = "",
                   language: str = "", now: datetime) -> tuple[Rendered, Source]:
    """Render the variant of `name` this channel and language get, with the conversation's values or samples."""
    if conversation:
        # By default, the variant that conversation's customer gets.
        row = tx.exec(select(Conversation).where(Conversation.ref == conversation.strip().upper())).first()
        if row is not None:
            channel, language = channel or row.channel, language or row.language
    found = resolve(tx, name, channel, language)
    if conversation:
        variables = conversation_variables(tx, found.name, conversation, settings, now)
    elif base_of(name) == "acknowledgement":
        variables = sample_acknowledgement(tx, settings, found.name, channel, language, now)
    else:
        variables = sample_variables(found.name)
    return render_source(found, variables), found
