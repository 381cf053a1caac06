"""Merging one conversation into another: its mail moves, and later mail for it goes to the survivor."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from gateway.errors import GatewayError
from gateway.models import (Conversation, Message, MessageReference, Note, OutboxItem, Participant, Scheduled,
                            Status)


def survivor(tx: Session, conversation: Conversation) -> Conversation:
    """The conversation mail for this one goes to now (itself unless it was merged)."""
    for _ in range(20):  # A chain of merges; the bound only guards against a corrupt cycle.
        if conversation.merged_into_id is None:
            break
        merged_into = tx.get(Conversation, conversation.merged_into_id)
        if merged_into is None:
            break
        conversation = merged_into
    return conversation


def merge(tx: Session, source: Conversation, target: Conversation, now: datetime, by: str = "admin") -> None:
    """Move everything of `source` into `target`; refuse what would show one customer another's mail."""
    target = survivor(tx, target)
    if source.merged_into_id is not None:
        raise GatewayError(f"{source.ref} was already merged into {survivor(tx, source).ref}")
    if source.id == target.id:
        raise GatewayError(f"{source.ref} and {target.ref} are one conversation already; nothing to merge")
    if source.customer_id != target.customer_id:
        raise GatewayError(f"{source.ref} and {target.ref} belong to different customers; merging them would "
                           "show each one the other's mail (link them instead: gateway conversations link "
                           f"{source.ref} {target.ref})")
    for model in (Message, Note, MessageReference, OutboxItem, Scheduled):
        for row in tx.exec(select(model).where(model.conversation_id == source.id)).all():  # type: ignore[attr-defined]
            row.conversation_id = target.id
    known = set(tx.exec(select(Participant.address).where(Participant.conversation_id == target.id)).all())
    for participant in tx.exec(select(Participant).where(Participant.conversation_id == source.id)).all():
        if participant.address in known:
            tx.delete(participant)
        else:
            participant.conversation_id = target.id
    target.tags = [*target.tags, *(t for t in source.tags if t not in target.tags)]
    target.updated_at = now
    source.status, source.resolved_at, source.merged_into_id = Status.RESOLVED, now, target.id
    tx.add(Note(conversation_id=target.id, created_at=now, kind="merged", author=by,
                body=f"{source.ref} ({source.subject}) was merged into this conversation"))
