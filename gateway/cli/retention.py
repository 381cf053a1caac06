"""`gateway retention apply`: remove raw mail older than [storage] keep_raw, keeping the conversations' text."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from gateway.cli.common import ConfigOption, JsonOption, fail, open_store, settings_from
from gateway.cli.output import emit_json
from gateway.clock import utc_now
from gateway.config import parse_duration
from gateway.retention import Removed, apply_retention, removable

app = typer.Typer(no_args_is_help=True, help="Keep raw mail only as long as you need it.\n\n"
                                            "Example: gateway retention apply --dry-run")


def _megabytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


@app.command()
def apply(config: ConfigOption = None, json_: JsonOption = False,
          older_than: Annotated[str | None, typer.Option(
              "--older-than", metavar="AGE", help="Instead of \\[storage] keep_raw, e.g. 365d.", show_default=False)
          ] = None,
          dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would go; remove nothing.")] = False
          ) -> None:
    """Remove the raw MIME (attachments included) of mail received, and the bytes of mail sent, before the cut-off.

    Conversations keep their text, parsed headers and attachment names; mail still waiting, quarantined or being
    sent is never touched. Run it daily (cron or a systemd timer) once [storage] keep_raw is set.

    Example: gateway retention apply --older-than 365d --dry-run
    """
    settings = settings_from(config)
    try:
        keep = parse_duration(older_than) if older_than is not None else settings.storage.keep_raw
    except ValueError as exc:
        fail(f"--older-than {exc}", code=2)
    if keep <= timedelta(0):
        fail(f"nothing to do: --older-than {older_than} keeps everything; give an age like 365d" if older_than
             is not None else "nothing to do: [storage] keep_raw is 0d (keep everything); set it, or pass "
             "--older-than 365d", code=2)
    store = open_store(settings)
    now = utc_now()
    try:
        cutoff = now - keep
    except OverflowError:  # Back before the year 1.
        fail(f"keeping raw mail {keep.days} days reaches back further than dates go; give an age like 365d or 10w",
             code=2)
    found: Removed = removable(store, cutoff) if dry_run else apply_retention(store, cutoff, now)
    if json_:
        emit_json({"cutoff": cutoff.isoformat(), "dry_run": dry_run, "raw_messages": found.raw_messages,
                   "sent_mails": found.sent_mails, "bytes": found.bytes})
        return
    verb = "would remove" if dry_run else "removed"
    typer.echo(f"{verb} the raw bytes of {found.raw_messages} received and {found.sent_mails} sent mails "
               f"({_megabytes(found.bytes)}) from before "
               f"{cutoff:%Y-%m-%d %H:%M} UTC; their conversations keep the text")
