"""Naming a conversation on the command line: the REF argument, its shell completion, and finding it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select
from typer.models import ArgumentInfo

from gateway.cli.common import config_path, fail
from gateway.config import load_config
from gateway.merge import survivor
from gateway.models import Conversation, Status
from gateway.store import Store

_REF = re.compile(r"[A-Za-z0-9]{8}")


def complete_ref(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion: refs of open and pending conversations, latest activity first; none when out of reach."""
    try:
        settings = load_config(config_path(ctx.params.get("config")))
        database = make_url(settings.database.url).database
        if settings.database.url.startswith("sqlite") and not (database and Path(database).exists()):
            return []  # Completing must not create an empty database file.
        store = Store.for_settings(settings)
        try:
            with store.reading() as tx:
                refs = tx.exec(select(Conversation.ref).where(
                    col(Conversation.status).in_([Status.OPEN, Status.PENDING]),
                    col(Conversation.ref).startswith(incomplete.upper())).order_by(
                    col(Conversation.updated_at).desc()).limit(100)).all()
            # In the case typed: the shell keeps only what starts with exactly that.
            return [ref.lower() if incomplete and incomplete.islower() else ref for ref in refs]
        finally:
            store.dispose()
    except Exception:  # A shell waiting for completions gets none rather than a traceback.
        return []


def ref_argument(metavar: str = "REF", about: str = "A conversation's reference, e.g. K7Q2M9XA.") -> ArgumentInfo:
    """A conversation reference argument that the shell completes."""
    return typer.Argument(metavar=metavar, help=about, autocompletion=complete_ref)


RefArgument = Annotated[str, ref_argument()]


def find_conversation(tx: Session, ref: str, *, for_change: bool = False) -> Conversation:
    """The conversation REF names; a malformed ref is bad usage (2), an unknown one a failure (1).

    A change to a merged conversation is refused with the ref that took it over.
    """
    if not _REF.fullmatch(ref.strip()):
        fail(f"{ref!r} is not a conversation reference; a ref is 8 letters and digits, like K7Q2M9XA", code=2)
    query = select(Conversation).where(Conversation.ref == ref.strip().upper())
    # A change locks the row, as agents' mail does, so a reply processed meanwhile sees it or waits.
    conversation = tx.exec(query.with_for_update() if for_change else query).first()
    if conversation is None:
        fail(f"no conversation {ref.strip().upper()!r}; `gateway conversations list` shows the refs")
    if for_change and conversation.merged_into_id is not None:
        fail(f"{conversation.ref} was merged into {survivor(tx, conversation).ref}; change that one instead")
    return conversation
