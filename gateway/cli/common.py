"""What every CLI command shares: finding the config, opening the store, failing in one line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from gateway.config import Settings, load_config
from gateway.errors import ConfigError
from gateway.schema import migrate
from gateway.store import Store

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", "-c", help="The TOML config file [default: $GATEWAY_CONFIG, else ./gateway.toml if present].",
    show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON Lines for lists).")]


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
        migrate(store)
    except (SQLAlchemyError, ArgumentError, OSError) as exc:
        fail(f"cannot open the database {settings.database.url}: {str(exc).splitlines()[0]}; "
             "check [database] url (or GATEWAY_DATABASE_URL)")
    return store


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
