"""How often each template and each saved reply was used: a canned reply used over and over points to a cause."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from gateway.models import OutboxItem, TemplateUse

# A saved reply used this often, and in this share of all replies, answers the same question again and again.
REPEATED_USES = 10
REPEATED_SHARE = 0.2
AGENT_REPLY = "agent_reply"


@dataclass(frozen=True)
class Usage:
    """Uses of one template ("template") or saved reply ("saved_reply") since a time."""

    kind: str
    name: str
    uses: int
    share: float = 0.0  # of all agent replies in the window (saved replies only)

    @property
    def worth_fixing(self) -> bool:
        return self.kind == "saved_reply" and self.uses >= REPEATED_USES and self.share >= REPEATED_SHARE


def template_usage(tx: Session, since: datetime, known: list[str]) -> list[Usage]:
    """Mail rendered from each template (variants apart) since `since`; known templates appear even unused."""
    counts = dict(tx.exec(select(OutboxItem.template, func.count()).where(
        OutboxItem.template != "", col(OutboxItem.created_at) >= since).group_by(col(OutboxItem.template))).all())
    names = sorted({*known, *counts})
    return [Usage("template", name, counts.get(name, 0)) for name in names]


def saved_reply_usage(tx: Session, since: datetime) -> list[Usage]:
    """Each saved reply's uses since `since`, most used first, with its share of all agent replies."""
    replies = tx.exec(select(func.count()).select_from(OutboxItem).where(
        OutboxItem.kind == AGENT_REPLY, col(OutboxItem.created_at) >= since)).one()
    rows = tx.exec(select(TemplateUse.name, func.count()).where(
        TemplateUse.kind == "saved_reply", col(TemplateUse.used_at) >= since).group_by(col(TemplateUse.name))).all()
    usage = [Usage("saved_reply", name, uses, uses / replies if replies else 0.0) for name, uses in rows]
    return sorted(usage, key=lambda u: (-u.uses, u.name))
