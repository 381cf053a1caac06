"""What every CLI command shares: finding the config, opening the store, naming a time, failing in one line."""

from __future__ import annotations

import getpass
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn
from zoneinfo import ZoneInfo

import typer

from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from gateway.clock import utc_now
from gateway.config import Settings, load_config
from gateway.errors import ConfigError
from gateway.reports.window import option_moment
from gateway.health.database import NO_DATABASE_FIX
from gateway.schema import migrate
from gateway.runtime import Runtime
from gateway.store import Store

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", "-c", help="The TOML config file \\[default: $GATEWAY_CONFIG, else ./gateway.toml if present].",
    show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON Lines for lists).")]


SINCE_HELP = ("A span back from now (30m, 12h, 2d, 1w), today, or a time: 2026-03-01, \"2026-03-01 09:00\" "
              "(in the \\[hours] time zone) or ISO 8601 with an offset.")
SinceOption = Annotated[str | None, typer.Option("--since", help=SINCE_HELP, show_default=False)]
# Ids are INTEGER columns, 32 bits on PostgreSQL: a larger number names nothing, and the database refuses it.
MAX_ID = 2**31 - 1


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


def open_store(settings: Settings, create: bool = False) -> Store:
    """The store, migrated; a database that cannot be opened, or is not there yet, is one line, not a traceback."""
    try:
        store = Store.for_settings(settings)
        # Only `init` (create=True), `serve` and `inject` make one: an admin in the wrong folder must not get "no
        # conversations" and a stray empty database.
        if not create and (missing := store.not_created()) is not None:
            fail(f"there is no database at {missing}; {NO_DATABASE_FIX}")
        migrate(store)
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


def since_time(text: str | None, settings: Settings) -> datetime | None:
    """The --since option's moment, or a one-line usage error."""
    if text is None:
        return None
    try:
        return option_moment("--since", text, utc_now(), ZoneInfo(settings.hours.timezone))
    except ValueError as exc:
        fail(str(exc), code=2)


def admin_name() -> str:
    """Who is at the keyboard, as notes and logs name them: the login name, marked as an admin."""
    try:
        return f"{getpass.getuser()} (admin)"
    except (OSError, KeyError):  # No login name (a container without a passwd entry).
        return "admin"
