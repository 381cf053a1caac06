"""`gateway quarantine list | show ID`: mail the gateway refused to act on, with the reason."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlmodel import col, select

from gateway.cli.common import ConfigOption, JsonOption, fail, open_store, settings_from
from gateway.message import parse
from gateway.models import RawMessage, RawState

app = typer.Typer(no_args_is_help=True, help="Mail the gateway refused to act on: loops, spoofed agent replies, "
                                            "processing errors. Nothing is dropped silently.")


@app.command("list")
def list_(config: ConfigOption = None, json_: JsonOption = False,
          limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50) -> None:
    """List quarantined mail, newest first, with the stage and reason.

    Example: gateway quarantine list --json
    """
    store = open_store(settings_from(config))
    with store.reading() as tx:
        rows = tx.exec(select(RawMessage.id, RawMessage.received_at, RawMessage.mail_from, RawMessage.stage,
                              RawMessage.reason).where(RawMessage.state == RawState.QUARANTINED)
                       .order_by(col(RawMessage.id).desc()).limit(limit)).all()
    if json_:
        for raw_id, received, mail_from, stage, reason in rows:
            typer.echo(json.dumps({"id": raw_id, "received_at": received.isoformat(), "mail_from": mail_from,
                                   "stage": stage, "reason": reason}, ensure_ascii=False))
        return
    if not rows:
        typer.echo("the quarantine is empty")
        return
    table = Table("ID", "RECEIVED (UTC)", "ENVELOPE FROM", "STAGE", "REASON", box=None)
    for raw_id, received, mail_from, stage, reason in rows:
        table.add_row(str(raw_id), received.strftime("%Y-%m-%d %H:%M"), mail_from or "<>", stage or "-",
                      reason or "-")
    Console(markup=False).print(table)


@app.command()
def show(id_: Annotated[int, typer.Argument(metavar="ID", help="The id from `gateway quarantine list`.")],
         config: ConfigOption = None, json_: JsonOption = False) -> None:
    """Show one quarantined mail: why it was refused, its headers and text.

    Example: gateway quarantine show 42
    """
    store = open_store(settings_from(config))
    with store.reading() as tx:
        raw = tx.get(RawMessage, id_)
    if raw is None or raw.state != RawState.QUARANTINED:
        fail(f"no quarantined mail with id {id_}; `gateway quarantine list` shows the ids")
    msg = parse(raw.raw)
    record = {"id": raw.id, "received_at": raw.received_at.isoformat(), "mail_from": raw.mail_from,
              "rcpt_tos": raw.rcpt_tos, "stage": raw.stage, "reason": raw.reason, "from": msg.from_address,
              "subject": msg.subject, "message_id": msg.message_id, "text": msg.text}
    if json_:
        typer.echo(json.dumps(record, ensure_ascii=False))
        return
    console = Console(markup=False)
    console.print(Text.assemble((f"quarantined at {raw.stage}", "bold"), f": {raw.reason}"))
    for key in ("received_at", "mail_from", "rcpt_tos", "from", "subject", "message_id"):
        console.print(f"{key}: {record[key]}", markup=False, highlight=False)
    console.print()
    console.print(msg.text, markup=False, highlight=False)
