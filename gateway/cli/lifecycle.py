"""`gateway init`, `serve` and `inject`: set up, run, and feed the gateway."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import ConfigOption, config_path, fail, open_store, settings_from
from gateway.logs import setup_logging
from gateway.config import DEFAULT_CONFIG_TEXT, load_config
from gateway.daemon import serve as run_daemon
from gateway.inbound.pipe import EX_TEMPFAIL, inject as inject_message
from gateway.schema import migrate
from gateway.store import Store

log = logging.getLogger("gateway.cli")


def init(config: Annotated[Path, typer.Option("--config", "-c", help="Where to write the config.")] = Path(
             "gateway.toml"),
         force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False) -> None:
    """Write a commented config file with every default, and create the database.

    Example: gateway init --config /etc/gateway/gateway.toml
    """
    if config.is_dir():
        fail(f"{config} is a folder; give the file to write, like {config / 'gateway.toml'}", code=2)
    if config.exists() and not force:
        fail(f"{config} exists; edit it, or pass --force to overwrite it with the defaults")
    config.parent.mkdir(parents=True, exist_ok=True)  # As `git init` makes its folder: /etc/gateway may be new.
    config.write_text(DEFAULT_CONFIG_TEXT)
    settings = load_config(config)
    open_store(settings, create=True).dispose()
    typer.echo(f"wrote {config} and created the database ({settings.database.url})")
    typer.echo(f"next: set [mail] domain and addresses in {config}, then: gateway serve --config {config}")


def serve(config: ConfigOption = None) -> None:
    """Run the gateway in the foreground: SMTP listener, processor and sender. Stop with Ctrl-C or SIGTERM.

    Example: gateway serve --config gateway.toml
    """
    settings = settings_from(config)
    setup_logging(settings)
    path = config_path(config)
    log.info("config: %s", path if path else "built-in defaults (no file)")
    for key, source in settings.sources:
        if source.startswith("env"):
            log.info("config: %s set by %s", key, source)
    run_daemon(settings)


def inject(config: ConfigOption = None,
           sender: Annotated[str | None, typer.Option(
               "--from", help="The envelope sender, e.g. Postfix's ${sender} (empty for bounces).")] = None,
           recipient: Annotated[list[str] | None, typer.Option(
               "--to", help="An envelope recipient, e.g. Postfix's ${recipient}; repeatable.")] = None) -> None:
    """Accept one message on stdin (for an MTA pipe transport).

    Exits 0 when stored, 75 (EX_TEMPFAIL: the MTA retries) when storage failed,
    65 (EX_DATAERR) when the input is not mail. Example: gateway inject < message.eml
    """
    raw = sys.stdin.buffer.read()
    try:
        settings = load_config(config_path(config))
        setup_logging(settings)
        store = Store.for_settings(settings)
        migrate(store)
    except Exception as exc:  # To an MTA any other exit code is a bounce: "try later" keeps the mail.
        print(f"error: cannot store the message now, the MTA will retry: {exc}", file=sys.stderr)
        raise typer.Exit(EX_TEMPFAIL) from None
    code = inject_message(raw, store=store, mail_from=sender, rcpt_tos=tuple(recipient or ()))
    store.dispose()
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(serve)
    app.command()(inject)
