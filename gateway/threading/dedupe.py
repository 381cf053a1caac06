"""Recognise a message we already have: same Message-ID and same content, however it came in."""

from __future__ import annotations

import hashlib

from sqlmodel import Session, select

from gateway.message import ParsedMessage
from gateway.models import Message


def normalise_id(message_id: str) -> str:
    return message_id.strip().lower()


def content_hash(msg: ParsedMessage, envelope_sender: str = "") -> str:
    """A hash of what a person wrote, blind to line endings, trace headers and re-encoding; by its From, or
    (with no From address) its envelope sender: two people's identical words are two messages."""
    text = " ".join((msg.text or msg.html).split())
    date = msg.date.isoformat() if msg.date else ""
    basis = "\n".join((msg.from_address or envelope_sender, " ".join(msg.subject.split()), date, text))
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()


def message_key(msg: ParsedMessage, digest: str, reused: bool) -> str:
    """The unique key: the Message-ID, or the content hash when there is none or it was reused."""
    if msg.message_id and not reused:
        return normalise_id(msg.message_id)
    return f"{normalise_id(msg.message_id)}#{digest}" if msg.message_id else f"hash:{digest}"


def find_duplicate(tx: Session, msg: ParsedMessage, digest: str) -> tuple[Message | None, bool]:
    """(the stored copy of this message, or None; whether its Message-ID was reused for other content)."""
    if not msg.message_id:
        return tx.exec(select(Message).where(Message.message_key == f"hash:{digest}")).first(), False
    same_id = tx.exec(select(Message).where(Message.message_key == normalise_id(msg.message_id))).first()
    if same_id is None:
        return None, False
    if same_id.content_hash == digest:
        return same_id, False
    # A different message under a Message-ID we know: a broken client, or someone trying to hide mail.
    copy = tx.exec(select(Message).where(Message.message_key == message_key(msg, digest, True))).first()
    return copy, True
