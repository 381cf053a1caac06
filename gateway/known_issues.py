"""A known issue: a name an admin gives to a group of conversations about one problem, kept as their tag."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from gateway.errors import GatewayError
from gateway.models import Conversation, KnownIssue, Note

# The same rule as an agent's `#tag`: a known issue's name is a tag agents can add by mail.
NAME = re.compile(r"^[\w][\w.-]{0,49}$")


def mark_known_issue(tx: Session, name: str, found_from: Conversation, conversations: Sequence[Conversation],
                     now: datetime, by: str = "admin") -> KnownIssue:
    """Record the issue (once: it stays known since its first marking) and tag each conversation with it."""
    if not NAME.match(name):
        raise GatewayError(f"--known-issue {name!r}: a name is one word of letters, digits, - . _ "
                           "(it becomes a tag, like outage-2026-03)")
    issue = tx.exec(select(KnownIssue).where(KnownIssue.name == name)).first()
    if issue is None:
        issue = KnownIssue(name=name, created_at=now, conversation_id=found_from.id)
        tx.add(issue)
    for conversation in conversations:
        if name not in conversation.tags:
            conversation.tags = [*conversation.tags, name]
            tx.add(Note(conversation_id=conversation.id, created_at=now, kind="changed", author=by,
                        body=f"tags {', '.join(conversation.tags)} (known issue {name}, found from {found_from.ref})"))
    return issue


def conversations_by_id(tx: Session, ids: Sequence[int]) -> list[Conversation]:
    return list(tx.exec(select(Conversation).where(col(Conversation.id).in_(ids)).order_by(col(Conversation.id))))
