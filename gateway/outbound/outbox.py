"""Write a rendered mail to the outbox in the caller's transaction, with its Message-ID fixed."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from gateway.config import Settings
from gateway.models import Conversation, Direction, Message, OutboxItem
from gateway.outbound.compose import ComposedMail
from gateway.outbound.dkim import sign
from gateway.threading.dedupe import normalise_id


def enqueue(tx: Session, mail: ComposedMail, *, conversation: Conversation | None, kind: str, mail_from: str,
            settings: Settings, now: datetime, agent_id: int | None = None, template: str = "") -> OutboxItem:
    """Queue these exact bytes (a retry re-sends them) and record the mail on its conversation, if any
    (a test of a template belongs to none)."""
    rcpt_tos = list(mail.recipients)
    # Signed here, once, so a retry sends the same signature too.
    raw = sign(mail.raw, settings.dkim)
    item = OutboxItem(conversation_id=conversation.id if conversation else None, kind=kind,
                      message_id=mail.message_id, mail_from=mail_from, rcpt_tos=rcpt_tos, raw=raw,
                      created_at=now, next_attempt_at=now, expires_at=now + settings.outbound.max_lifetime,
                      recipient=rcpt_tos[0].lower()[:320] if rcpt_tos else "", automatic=mail.automatic,
                      template=template)
    tx.add(item)
    if conversation is None:
        return item
    tx.add(Message(conversation_id=conversation.id, message_key=normalise_id(mail.message_id),
                   message_id=mail.message_id, direction=Direction.OUT, kind=kind,
                   sender=conversation.channel, recipients=rcpt_tos, subject=mail.subject, text=mail.text,
                   created_at=now, sent_at=now, agent_id=agent_id, in_reply_to=mail.in_reply_to,
                   references=list(mail.references)))
    return item
