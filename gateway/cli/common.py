"""What every CLI command shares: finding the config, opening the store, naming a conversation or a time,
failing in one line."""

from __future__ import annotations

import getpass
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn
from zoneinfo import ZoneInfo

import typer
from typer.models import ArgumentInfo

from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from gateway.clock import utc_now
from gateway.config import Settings, load_config, parse_duration
from gateway.errors import ConfigError
from gateway.merge import survivor
from gateway.models import Conversation, Status
from gateway.runtime import Runtime
from gateway.store import Store

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", "-c", help="The TOML config file [default: $GATEWAY_CONFIG, else ./gateway.toml if present].",
    show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON Lines for lists).")]


def complete_ref(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion: refs of open and pending conversations, latest activity first; none when out of reach."""
    try:
        settings = load_config(config_path(ctx.params.get("config")))
        database = make_url(settings.database.url).database
        if settings.database.url.startswith("sqlite") and not (database and Path(database).exists()):
            return []  # Completing must not create an empty database file.
        store = Store(settings.database.url)
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
SINCE_HELP = ("A span back from now (30m, 12h, 2d, 1w) or a time: 2026-03-01, \"2026-03-01 09:00\" "
              "(in [hours] timezone) or ISO 8601 with an offset.")
SinceOption = Annotated[str | None, typer.Option("--since", help=SINCE_HELP, show_default=False)]
_REF = re.compile(r"[A-Za-z0-9]{8}")
_SPAN = re.compile(r"\s*\d+\s*[smhdw]\s*")


def config_path(given: Path | None) -> Path | None:
    if given is not None:
        return given
    if env := os.environ.get("GATEWAY_CONFIG"):
        return Path(env)
    return Path("gateway.toml") if Path("gateway.toml").exists() else None


def settings_from(given: Path | None) -> Settings:
    try:
        return load_config(config_path(given))
    except ConfigError as exc:
        fail(str(exc))


def open_store(settings: Settings) -> Store:
    """The store, migrated; a database that cannot be opened is one line, not a traceback."""
    try:
        store = Store(settings.database.url)
        store.migrate()
    except (SQLAlchemyError, ArgumentError, OSError) as exc:
        fail(f"cannot open the database {settings.database.url}: {str(exc).splitlines()[0]}; "
             "check [database] url (or GATEWAY_DATABASE_URL)")
    return store


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def open_runtime(settings: Settings) -> Runtime:
    """What the pipeline and apply() need, for commands that act as the daemon would."""
    store = open_store(settings)
    return Runtime(store, settings, settings.mail.secret or store.shared_secret(), utc_now)


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


def parse_since(text: str, now: datetime, zone: str) -> datetime:
    """A moment from a span back from `now` (2d) or a time; a time without an offset is in `zone`."""
    try:
        return now - parse_duration(text) if _SPAN.fullmatch(text) else _moment(text, zone)
    except ValueError:
        raise ValueError(f"--since {text!r} is neither a span like 2d or 12h nor a time like 2026-03-01 "
                         "or \"2026-03-01 09:00\"") from None


def _moment(text: str, zone: str) -> datetime:
    when = datetime.fromisoformat(text.strip())
    return when.replace(tzinfo=ZoneInfo(zone)) if when.utcoffset() is None else when


def since_time(text: str | None, settings: Settings) -> datetime | None:
    """The --since option's moment, or a one-line usage error."""
    if text is None:
        return None
    try:
        return parse_since(text, utc_now(), settings.hours.timezone)
    except ValueError as exc:
        fail(str(exc), code=2)


def admin_name() -> str:
    """Who is at the keyboard, as notes and logs name them: the login name, marked as an admin."""
    try:
        return f"{getpass.getuser()} (admin)"
    except (OSError, KeyError):  # No login name (a container without a passwd entry).
        return "admin"
