"""Write a rendered mail to the outbox in the caller's transaction, with its Message-ID fixed."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import getaddresses

from sqlmodel import Session

from gateway.config import Settings
from gateway.models import Conversation, Direction, Message, OutboxItem
from gateway.outbound.dkim import sign
from gateway.threading.dedupe import normalise_id


def enqueue(tx: Session, mail: EmailMessage, *, conversation: Conversation | None, kind: str, mail_from: str,
            settings: Settings, now: datetime, agent_id: int | None = None, template: str = "") -> OutboxItem:
    """Queue these exact bytes (a retry re-sends them) and record the mail on its conversation, if any
    (a test of a template belongs to none)."""
    rcpt_tos = [addr for _, addr in getaddresses(mail.get_all("To", []) + mail.get_all("Cc", []))]
    # CRLF line ends, as SMTP requires: the relay gets exactly these bytes (a bare LF is refused by some MTAs),
    # signed here, once, so a retry sends the same signature too.
    raw = sign(mail.as_bytes(policy=SMTP), settings.dkim)
    item = OutboxItem(conversation_id=conversation.id if conversation else None, kind=kind,
                      message_id=mail["Message-ID"], mail_from=mail_from, rcpt_tos=rcpt_tos, raw=raw, created_at=now,
                      next_attempt_at=now, expires_at=now + settings.outbound.max_lifetime,
                      recipient=rcpt_tos[0].lower()[:320] if rcpt_tos else "",
                      automatic=mail.get("Auto-Submitted", "no").lower() != "no", template=template)
    tx.add(item)
    if conversation is None:
        return item
    tx.add(Message(conversation_id=conversation.id, message_key=normalise_id(mail["Message-ID"]),
                   message_id=mail["Message-ID"], direction=Direction.OUT, kind=kind,
                   sender=conversation.channel, recipients=rcpt_tos, subject=str(mail["Subject"]),
                   text=_text_of(mail), created_at=now, sent_at=now, agent_id=agent_id,
                   in_reply_to=mail.get("In-Reply-To", ""), references=str(mail.get("References", "")).split()))
    return item


def _text_of(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    return body.get_content() if body is not None else ""
