"""Mail to agents: notifications of customer mail, notes, colleague notices; one thread per conversation."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, func, select

from gateway.agents.roster import AgentView
from gateway.models import Conversation, Customer, Direction, Message, RawMessage
from gateway.outbound.attachments import FileAttachment, attachments_of
from gateway.outbound.compose import Addressing, compose
from gateway.outbound.outbox import enqueue
from gateway.runtime import Runtime
from gateway.reply_token import agent_address, agent_thread_id, make_message_id

log = logging.getLogger(__name__)

# Outgoing kinds that go to agents; an agent's reply to any of them shows what they had seen.
AGENT_KINDS = ("notification", "note", "colleague_replied", "reply_held", "held_dropped", "not_understood",
               "not_relayed", "sent_from_elsewhere")


def agent_subject(conversation: Conversation, partner: bool, beta: bool) -> str:
    """The same subject on every mail agents get about one conversation, so clients thread them."""
    flags = "".join(f" [{flag}]" for flag, on in (("PARTNER", partner), ("BETA", beta)) if on)
    return f"[#{conversation.ref}]{flags} {conversation.subject or '(no subject)'}"


def _latest_to(tx: Session, conversation: Conversation) -> dict[str, str]:
    """Our newest mail about the conversation to each agent or list, to reply under it."""
    rows = tx.exec(select(Message.message_id, Message.recipients).where(
        Message.conversation_id == conversation.id, Message.direction == Direction.OUT,
        col(Message.kind).in_(AGENT_KINDS)).order_by(col(Message.id))).all()
    return {recipient: mid for mid, recipients in rows for recipient in recipients}


def queue_agent_mail(tx: Session, rt: Runtime, *, kind: str, conversation: Conversation, recipient: str,
                     agent: AgentView | None, subject: str, variables: dict[str, object], now: datetime,
                     from_name: str = "", note_address: bool = False,
                     attachments: Sequence[FileAttachment] = (), latest: dict[str, str] | None = None) -> None:
    """Queue one mail from template agent/<kind> (or notification) to one agent or list address
    (`latest`: _latest_to() when the caller mails several recipients at once)."""
    settings = rt.settings
    root = agent_thread_id(rt.secret, conversation.ref, settings.mail.domain)
    previous = (latest if latest is not None else _latest_to(tx, conversation)).get(recipient, "")
    addressing = Addressing(
        from_name=from_name or settings.mail.name, from_address=conversation.channel, to=("", recipient),
        reply_to=agent_address(rt.secret, conversation.channel, conversation.ref, recipient, note=note_address),
        reply_to_name=settings.mail.name,
        message_id=make_message_id(rt.secret, conversation.ref, settings.mail.domain),
        in_reply_to=previous or root, references=(root, previous) if previous else (root,))
    template = "notification" if kind == "notification" else f"agent/{kind}"
    mail = compose(template, {"ref": conversation.ref, **variables}, addressing, now, automatic="auto-generated",
                   subject=subject, attachments=attachments, tx=tx)
    # Not the null sender: a bounce from an agent's mailbox must come back, so an admin hears of it.
    enqueue(tx, mail, conversation=conversation, kind=kind, mail_from=conversation.channel, settings=settings,
            now=now, agent_id=agent.id if agent else None, template=mail.template)
    log.info("conv=%s %s queued for %s", conversation.ref, kind, recipient)


def queue_notifications(tx: Session, rt: Runtime, recipients: Sequence[str], conversation: Conversation,
                        customer: Customer, message: Message, roster: Sequence[AgentView], partner: bool,
                        beta: bool, subject: str, now: datetime) -> None:
    """Forward a customer's message to each recipient, with what they must know at a glance on top."""
    others = (Conversation.customer_id == customer.id, Conversation.id != conversation.id)
    history_count = tx.exec(select(func.count()).select_from(Conversation).where(*others)).one()
    history = tx.exec(select(Conversation.ref, Conversation.subject, Conversation.status).where(*others)
                      .order_by(col(Conversation.updated_at).desc()).limit(3)).all()
    assignee = next((a for a in roster if a.id == conversation.assignee_id), None)
    raw = tx.get(RawMessage, message.raw_id) if message.raw_id else None
    files = attachments_of(rt.store.raw_of(raw.raw, raw.spool)) if raw is not None else []
    # The person who wrote this message (a Cc'd colleague of the customer, say), as plain text for the body.
    who = f"{message.sender_name} <{message.sender}>" if message.sender_name else message.sender
    variables: dict[str, object] = {
        "partner": partner, "partner_tier": rt.settings.partners.tier,
        "beta": beta,
        "channel": conversation.channel, "customer": who, "customer_name": customer.name,
        "customer_address": customer.address, "status": conversation.status, "priority": conversation.priority,
        "assignee": assignee.name or assignee.address if assignee else "", "tags": conversation.tags,
        "history_count": history_count, "history": [{"ref": r, "subject": s, "status": st} for r, s, st in history],
        "written": (message.sent_at or message.created_at).strftime("%a %-d %b %Y %H:%M UTC"),
        "text": message.text.strip(), "attachments": [f"{f.filename} ({_size(len(f.data))})" for f in files]}
    by_address = {a.address: a for a in roster}
    latest = _latest_to(tx, conversation)
    for recipient in recipients:
        queue_agent_mail(tx, rt, kind="notification", conversation=conversation, recipient=recipient,
                         agent=by_address.get(recipient), subject=subject, variables=variables, now=now,
                         from_name=f"{message.sender_name or message.sender} via {rt.settings.mail.name}",
                         attachments=files, latest=latest)


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1024 else f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1048576:.1f} MB"
