"""Find the conversation a new message belongs to, strongest signal first, and say which rule matched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, col, select

from gateway.classify import Sender, SenderKind
from gateway.config import Settings
from gateway.merge import survivor
from gateway.message import ParsedMessage
from gateway.models import Conversation, Customer, Message, MessageReference, Participant, Status
from gateway.reply_token import ref_from_address, ref_from_message_id
from gateway.threading.dedupe import normalise_id
from gateway.threading.subject import base_subject, ref_in_subject


class Rule(StrEnum):
    TOKEN = "token"
    OUR_MESSAGE_ID = "our-message-id"
    REFERENCES = "references"
    SUBJECT_REF = "subject-ref"
    SAME_REQUEST = "same-request"
    NEW = "new"
    NEW_LINKED = "new-linked"
    DELIVERY_REPORT = "delivery-report"
    ARCHIVE = "archive"  # imported mail put back in the conversation our export recorded


# Signals that prove the sender was sent our mail; the others must come from a participant.
_PROVEN = (Rule.TOKEN, Rule.OUR_MESSAGE_ID)


@dataclass(frozen=True)
class Match:
    rule: Rule
    conversation: Conversation | None = None
    linked_to: Conversation | None = None
    reopen: bool = False


def by_ref(tx: Session, ref: str | None) -> Conversation | None:
    """The conversation a ref names, or the one it was merged into."""
    conversation = tx.exec(select(Conversation).where(Conversation.ref == ref)).first() if ref else None
    return survivor(tx, conversation) if conversation is not None else None


def by_references(tx: Session, msg: ParsedMessage) -> Conversation | None:
    """The conversation of a message this one refers to, or of a shared ancestor."""
    # The direct parent first (In-Reply-To, then References from the newest), then a shared ancestor.
    ids = [normalise_id(i) for i in (*msg.in_reply_to, *reversed(msg.references))]
    if not ids:
        return None
    found = dict(tx.exec(select(Message.message_key, Message.conversation_id).where(
        col(Message.message_key).in_(ids), col(Message.conversation_id).is_not(None))).all())
    for key in ids:
        if key in found:
            return tx.get(Conversation, found[key])
    shared = tx.exec(select(MessageReference.conversation_id).where(col(MessageReference.ref).in_(ids))).first()
    return tx.get(Conversation, shared) if shared else None


def is_participant(tx: Session, conversation: Conversation, sender: Sender) -> bool:
    if sender.kind is SenderKind.AGENT:
        return True
    if not sender.address:
        return False
    return tx.exec(select(Participant.id).where(
        Participant.conversation_id == conversation.id, Participant.address == sender.address)).first() is not None


def _same_request(tx: Session, msg: ParsedMessage, sender: Sender, customer: Customer, settings: Settings,
                  now: datetime) -> Conversation | None:
    """The sender's open conversation with the same subject or nearly the same text, within the window."""
    candidates = tx.exec(select(Conversation).where(
        Conversation.customer_id == customer.id, Conversation.channel == sender.channel,
        col(Conversation.status).in_([Status.OPEN, Status.PENDING]),
        Conversation.updated_at >= now - settings.threading.window,
    ).order_by(col(Conversation.updated_at).desc()).limit(20)).all()
    subject = base_subject(msg.subject)
    for conversation in candidates:
        if subject and conversation.subject_key == subject:
            return conversation
    text = msg.text
    if len(text.split()) < 8:
        return None
    for conversation in candidates:
        first = tx.exec(select(Message.text).where(Message.conversation_id == conversation.id)
                        .order_by(col(Message.id)).limit(1)).first() or ""
        if nearly_same(text, first):
            return conversation
    return None


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = text.casefold().split()
    return {tuple(words[i:i + 3]) for i in range(max(len(words) - 2, 1))}


def nearly_same(a: str, b: str) -> bool:
    """Near-duplicate text: 80% of word 3-shingles shared (Jaccard); linear time, unlike difflib."""
    first, second = _shingles(a), _shingles(b)
    return bool(first and second) and len(first & second) / len(first | second) >= 0.8


def _find(tx: Session, msg: ParsedMessage, sender: Sender, rcpt_tos: tuple[str, ...], settings: Settings,
          secret: str, now: datetime, customer: Customer | None) -> tuple[Rule, Conversation | None]:
    for address in (*rcpt_tos, *msg.recipients):
        if (conversation := by_ref(tx, ref_from_address(secret, address))) is not None:
            return Rule.TOKEN, conversation
    for message_id in (*msg.in_reply_to, *reversed(msg.references)):
        if (conversation := by_ref(tx, ref_from_message_id(secret, message_id))) is not None:
            return Rule.OUR_MESSAGE_ID, conversation
    if (conversation := by_references(tx, msg)) is not None:
        return Rule.REFERENCES, conversation
    if sender.is_machine:
        return Rule.NEW, None
    if (conversation := by_ref(tx, ref_in_subject(msg.subject))) is not None:
        return Rule.SUBJECT_REF, conversation
    if sender.is_customer and customer is not None and (
            conversation := _same_request(tx, msg, sender, customer, settings, now)) is not None:
        return Rule.SAME_REQUEST, conversation
    return Rule.NEW, None


def match_conversation(tx: Session, msg: ParsedMessage, sender: Sender, rcpt_tos: tuple[str, ...],
                       settings: Settings, secret: str, now: datetime, customer: Customer | None) -> Match:
    """Which conversation this message joins (`customer`: the sender's row, if they are a known customer);
    a stranger's reference opens a new, linked one."""
    rule, conversation = _find(tx, msg, sender, rcpt_tos, settings, secret, now, customer)
    if conversation is None:
        return Match(Rule.NEW)
    if rule not in _PROVEN and not is_participant(tx, conversation, sender):
        # Machine mail opens nothing; a person gets their own conversation, linked, seeing nothing of this one.
        return Match(Rule.NEW) if sender.is_machine else Match(Rule.NEW_LINKED, linked_to=conversation)
    # Machine mail (a bounce about our reply, say) is recorded where it belongs but never reopens anything.
    if sender.is_machine:
        return Match(rule, conversation)
    if conversation.status == Status.RESOLVED and sender.is_customer:
        resolved_at = conversation.resolved_at or conversation.updated_at
        if now - resolved_at > settings.threading.reopen_window:
            return Match(Rule.NEW_LINKED, linked_to=conversation)
        return Match(rule, conversation, reopen=True)
    return Match(rule, conversation)
