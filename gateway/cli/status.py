"""`gateway status`: is the daemon running, and is anything stuck or waiting."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime

import typer
from rich.console import Console

from gateway.cli.common import ConfigOption, JsonOption, open_store, settings_from
from gateway.cli.output import counted
from gateway.clock import utc_now
from gateway.heartbeat import STALE_AFTER
from gateway.status import GatewayStatus, gather_status

# Like `systemctl status`: 3 means "not running", so scripts can tell it from a failure (1).
NOT_RUNNING = 3


def _ago(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "-"
    seconds = max(int((now - at).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago ({at:%Y-%m-%d %H:%M} UTC)"
    return f"{seconds}s ago"


def _lines(found: GatewayStatus, now: datetime) -> list[tuple[str, str | None]]:
    """(text, style) lines for a person."""
    lines: list[tuple[str, str | None]] = [
        ("daemon: running" if found.running else "daemon: NOT RUNNING", "green" if found.running else "red")]
    for p in found.processes:
        what = {"running": "running", "stopped": "stopped cleanly",
                "gone": f"gone: silent for more than {int(STALE_AFTER.total_seconds())}s (killed or hung)"}[p.state]
        lines.append((f"  {p.role} pid {p.pid} on {p.host}{' ' + p.detail if p.detail else ''}: {what}; started {_ago(p.started_at, now)}, "
                      f"last heartbeat {_ago(p.beat_at, now)}", None))
    if not found.processes:
        lines.append(("  no gateway process has reported in the last 7 days; start one with `gateway serve`", None))
    lines += [
        (f"unprocessed mail: {found.unprocessed}, oldest received {_ago(found.oldest_unprocessed, now)}",
         "yellow" if found.unprocessed else None),
        (f"outbox: {found.outbox_due} to send ({found.outbox_retrying} retrying), {found.outbox_failed} failed",
         "yellow" if found.outbox_failed or found.outbox_retrying else None),
        (f"quarantined: {found.quarantined} (`gateway quarantine list`)", "yellow" if found.quarantined else None),
        (f"waiting for a first reply: {counted(found.waiting_first_reply, 'conversation')}, oldest opened "
         f"{_ago(found.oldest_waiting, now)}", None),
    ]
    problem = found.last_error
    lines.append((f"last error: {_ago(problem.at, now)}, {problem.where}: {problem.text}" if problem
                  else "last error: none", "red" if problem else None))
    return lines


def status(config: ConfigOption = None, json_: JsonOption = False) -> None:
    """Show whether the daemon is running, queue depths, the oldest unprocessed mail and the last error.

    Exits 0 when a `gateway serve` is running, 3 when none is (as `systemctl status` does).
    Example: gateway status --json
    """
    store = open_store(settings_from(config))
    now = utc_now()
    with store.reading() as tx:
        found = gather_status(tx, now)
    store.dispose()
    if json_:
        typer.echo(json.dumps({"running": found.running, **asdict(found)}, default=datetime.isoformat,
                              ensure_ascii=False))
    else:
        console = Console(markup=False, highlight=False, soft_wrap=True)
        for text, style in _lines(found, now):
            console.print(text, style=style)
    if not found.running:
        raise typer.Exit(NOT_RUNNING)


def register(app: typer.Typer) -> None:
    app.command()(status)
