"""What `gateway conversations related` prints, and its --known-issue marking (the command is in conversations.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING

import typer
from sqlmodel import select

from gateway.cli.common import fail, open_store
from gateway.cli.output import counted, table
from gateway.clock import utc_now
from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.known_issues import conversations_by_id, mark_known_issue
from gateway.models import Conversation
from gateway.store import Store

if TYPE_CHECKING:
    from gateway.related import Related


def show_related(settings: Settings, ref: str, days: int, min_score: float, limit: int, as_json: bool,
                 known_issue: str | None) -> None:
    # Here: quote cutting and the word lists cost every other command 0.2 s of start-up.
    from gateway.related import related

    store = open_store(settings)
    with store.reading() as tx:
        around = tx.exec(select(Conversation).where(Conversation.ref == ref.upper())).first()
        if around is None:
            fail(f"no conversation {ref!r}; `gateway conversations list` shows the refs")
        found = related(tx, around, timedelta(days=days), min_score, limit)
    if known_issue is not None:
        _mark(store, known_issue, around, found)
    if as_json:
        for r in found:
            typer.echo(json.dumps({"score": r.score, "ref": r.ref, "customer": r.customer, "subject": r.subject,
                                   "status": r.status, "created_at": r.created_at.isoformat(),
                                   "tags": list(r.tags)}, ensure_ascii=False))
        return
    if not found:
        typer.echo(f"no other customer's conversation within {days} days reads like {around.ref} "
                   f"(score at least {min_score}); try --days or a lower --min-score")
        return
    table(("SCORE", "REF", "CUSTOMER", "OPENED (UTC)", "STATUS", "SUBJECT", "TAGS"),
          [(f"{r.score:.2f}", r.ref, r.customer or "-", r.created_at.strftime("%Y-%m-%d %H:%M"), r.status,
            r.subject or "-", ", ".join(r.tags) or "-") for r in found])


def _mark(store: Store, name: str, around: Conversation, found: list[Related]) -> None:
    with store.transaction() as tx:
        group = conversations_by_id(tx, [around.id, *(r.conversation_id for r in found)])  # type: ignore[list-item]
        try:
            issue = mark_known_issue(tx, name, next(c for c in group if c.id == around.id), group, utc_now())
        except GatewayError as exc:
            fail(str(exc), code=2)
    typer.echo(f"tagged {counted(len(group), 'conversation')} with {name} (a known issue since "
               f"{issue.created_at:%Y-%m-%d %H:%M} UTC)", err=True)
