"""Splitting a conversation: a message and what follows it become a new conversation, linked to the old one.

The customer is told nothing; their replies to the moved mail follow it (threading finds the moved messages).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, func, select

from gateway.errors import GatewayError
from gateway.models import (Conversation, Direction, Message, MessageReference, Note, OutboxItem, Participant,
                            Scheduled)
from gateway.reply_token import new_ref
from gateway.threading.subject import base_subject, without_refs


def _first_reply(tx: Session, conversation: Conversation) -> datetime | None:
    return tx.exec(select(Message.created_at).where(
        Message.conversation_id == conversation.id, Message.direction == Direction.OUT,
        Message.kind == "agent_reply").order_by(col(Message.id))).first()


def split(tx: Session, conversation: Conversation, first: Message, by: str, now: datetime) -> Conversation:
    """Move `first` and every later message of `conversation` into a new conversation; return it."""
    if first.conversation_id != conversation.id:
        raise GatewayError(f"message {first.id} is not in {conversation.ref}; "
                           f"`gateway conversations show {conversation.ref}` lists its messages")
    moved = list(tx.exec(select(Message).where(Message.conversation_id == conversation.id,
                                               col(Message.id) >= first.id).order_by(col(Message.id))).all())
    total = tx.exec(select(func.count()).select_from(Message).where(Message.conversation_id == conversation.id)).one()
    if len(moved) == total:
        raise GatewayError(f"message {first.id} is the first of {conversation.ref}; splitting there would move "
                           "everything (split from a later message)")
    subject = without_refs(first.subject) or conversation.subject
    new = Conversation(ref=new_ref(), subject=subject, subject_key=base_subject(subject)[:200],
                       customer_id=conversation.customer_id, channel=conversation.channel,
                       status=conversation.status, resolved_at=conversation.resolved_at,
                       created_at=first.created_at, updated_at=now, linked_to_id=conversation.id,
                       priority=conversation.priority, tags=list(conversation.tags), language=conversation.language)
    tx.add(new)
    tx.flush()
    ids = [m.id for m in moved]
    for message in moved:
        message.conversation_id = new.id
    for model, key, values in ((MessageReference, MessageReference.message_pk, ids),
                               (Scheduled, Scheduled.message_pk, ids),
                               (OutboxItem, OutboxItem.message_id, [m.message_id for m in moved if m.message_id])):
        for row in tx.exec(select(model).where(col(key).in_(values))).all():  # type: ignore[call-overload]
            row.conversation_id = new.id
    # The same people take part in both halves: the stranger guard must let them reply to either.
    people = tx.exec(select(Participant.address).where(Participant.conversation_id == conversation.id)).all()
    tx.add_all(Participant(conversation_id=new.id, address=address) for address in people)
    tx.flush()
    conversation.first_response_at, new.first_response_at = _first_reply(tx, conversation), _first_reply(tx, new)
    conversation.updated_at = now
    tx.add(Note(conversation_id=conversation.id, created_at=now, kind="split", author=by,
                body=f"{len(moved)} messages from message {first.id} on were moved to {new.ref}"))
    tx.add(Note(conversation_id=new.id, created_at=now, kind="split", author=by,
                body=f"split from {conversation.ref} ({conversation.subject}), from message {first.id} on"))
    return new
