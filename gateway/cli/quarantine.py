"""`gateway quarantine list | show ID | release ID | drop ID`: mail the gateway refused to act on, with the reason."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text
from sqlmodel import col, select

from gateway.cli.common import (MAX_ID, ConfigOption, JsonOption, admin_name, fail, open_runtime, open_store,
                                settings_from)
from gateway.cli.output import console, emit_json, emit_jsonl, table, when
from gateway.clock import utc_now
from gateway.message import parse
from gateway.models import RawMessage, RawState
from gateway.pipeline import Processor
from gateway.replay import drop as drop_raw, replay

app = typer.Typer(no_args_is_help=True, help="Mail the gateway refused to act on: loops, spoofed agent replies, "
                                            "processing errors. Nothing is dropped silently.\n\n"
                                            "Example: gateway quarantine list")
IdArgument = Annotated[int, typer.Argument(metavar="ID", max=MAX_ID, help="The id from `gateway quarantine list`.")]


@app.command("list")
def list_(config: ConfigOption = None, json_: JsonOption = False,
          dropped: Annotated[bool, typer.Option("--dropped", help="List what admins dropped instead.")] = False,
          limit: Annotated[int, typer.Option(min=1, max=MAX_ID, help="At most this many, newest first.")] = 50) -> None:
    """List quarantined mail, newest first, with the stage and reason.

    Example: gateway quarantine list --json
    """
    store = open_store(settings_from(config))
    state = RawState.DROPPED if dropped else RawState.QUARANTINED
    with store.reading() as tx:
        rows = tx.exec(select(RawMessage.id, RawMessage.received_at, RawMessage.mail_from, RawMessage.stage,
                              RawMessage.reason).where(RawMessage.state == state)
                       .order_by(col(RawMessage.id).desc()).limit(limit)).all()
    if json_:
        emit_jsonl({"id": raw_id, "received_at": received, "mail_from": mail_from, "stage": stage, "reason": reason}
                   for raw_id, received, mail_from, stage, reason in rows)
        return
    table(("ID", "RECEIVED (UTC)", "ENVELOPE FROM", "STAGE", "REASON"),
          [(str(raw_id), when(received), mail_from or "<>", stage or "-", reason or "-")
           for raw_id, received, mail_from, stage, reason in rows],
          empty="nothing dropped" if dropped else "the quarantine is empty")


@app.command()
def show(id_: IdArgument, config: ConfigOption = None, json_: JsonOption = False) -> None:
    """Show one quarantined (or dropped) mail: why it was refused, its headers and text.

    Example: gateway quarantine show 42
    """
    store = open_store(settings_from(config))
    with store.reading() as tx:
        raw = tx.get(RawMessage, id_)
    if raw is None or raw.state not in (RawState.QUARANTINED, RawState.DROPPED):
        fail(f"no quarantined mail with id {id_}; `gateway quarantine list` shows the ids")
    msg = parse(store.raw_of(raw.raw, raw.spool))
    record = {"id": raw.id, "state": raw.state, "received_at": raw.received_at, "mail_from": raw.mail_from,
              "rcpt_tos": raw.rcpt_tos, "stage": raw.stage, "reason": raw.reason, "from": msg.from_address,
              "subject": msg.subject, "message_id": msg.message_id, "text": msg.text}
    if json_:
        emit_json(record)
        return
    out = console()
    out.print(Text.assemble((f"{raw.state} at {raw.stage}", "bold"), f": {raw.reason}"))
    for key in ("received_at", "mail_from", "rcpt_tos", "from", "subject", "message_id"):
        out.print(f"{key}: {record[key]}")
    out.print()
    out.print(msg.text)


@app.command()
def release(id_: IdArgument, config: ConfigOption = None) -> None:
    """Run a quarantined (or dropped) mail through the pipeline again, e.g. after fixing the config or a bug.

    It is de-duplicated like any mail, so a release never stores or answers it twice.

    Example: gateway quarantine release 42
    """
    rt = open_runtime(settings_from(config))
    (outcome,) = replay(Processor(rt), [id_], states=(RawState.QUARANTINED, RawState.DROPPED)) or (None,)
    if outcome is None or outcome.before not in (RawState.QUARANTINED, RawState.DROPPED):
        fail(f"no quarantined mail with id {id_}; `gateway quarantine list` shows the ids")
    if outcome.after == RawState.QUARANTINED:
        fail(f"mail {id_} was refused again: {outcome.reason}")
    where = f" into {outcome.conversation}" if outcome.conversation else ""
    typer.echo(f"released mail {id_}: {outcome.after}{where}")


@app.command()
def drop(id_: IdArgument, config: ConfigOption = None) -> None:
    """Drop a quarantined mail: it leaves the list, and a record of who dropped it stays (`list --dropped`).

    Example: gateway quarantine drop 42
    """
    store = open_store(settings_from(config))
    with store.transaction() as tx:
        drop_raw(tx, id_, admin_name(), utc_now())
    typer.echo(f"dropped mail {id_}; it is kept, and `gateway quarantine list --dropped` shows it")
