"""`gateway queue list | retry | cancel`: the outbox of mail waiting for the relay."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from sqlmodel import col, select

from gateway.cli.common import MAX_ID, ConfigOption, JsonOption, admin_name, fail, open_store, settings_from
from gateway.cli.output import emit_jsonl, styled, table, when
from gateway.clock import utc_now
from gateway.models import Conversation, OutboxItem, OutboxStatus
from gateway.outbound.queue_control import cancel as cancel_item, retry as retry_item, state_of

app = typer.Typer(no_args_is_help=True, help="The outbox: mail waiting for the relay, retrying, or failed.\n\n"
                                            "Example: gateway queue list --state failed")
IdArgument = Annotated[int | None, typer.Argument(metavar="ID", help="The id from `gateway queue list`.",
                                                  max=MAX_ID, show_default=False)]


class Shown(StrEnum):
    WAITING = "waiting"  # pending, retrying, sending, failed: not delivered, not cancelled
    PENDING = "pending"
    RETRYING = "retrying"
    FAILED = "failed"
    SENT = "sent"
    BOUNCED = "bounced"
    CANCELLED = "cancelled"
    ALL = "all"


_STATUSES = {Shown.WAITING: (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.FAILED),
             Shown.PENDING: (OutboxStatus.PENDING,), Shown.RETRYING: (OutboxStatus.PENDING, OutboxStatus.SENDING),
             Shown.FAILED: (OutboxStatus.FAILED,), Shown.SENT: (OutboxStatus.SENT,),
             Shown.BOUNCED: (OutboxStatus.BOUNCED,), Shown.CANCELLED: (OutboxStatus.CANCELLED,),
             Shown.ALL: tuple(OutboxStatus)}


@app.command("list")
def list_(config: ConfigOption = None, json_: JsonOption = False,
          state: Annotated[Shown, typer.Option(help="Which mail: waiting is everything not sent or cancelled.")]
          = Shown.WAITING,
          limit: Annotated[int, typer.Option(min=1, max=MAX_ID, help="At most this many, oldest first.")] = 100
          ) -> None:
    """List the outbox: state, attempts, next attempt and last error of each mail.

    Example: gateway queue list --state failed --json
    """
    store = open_store(settings_from(config))
    with store.reading() as tx:
        rows = tx.exec(select(OutboxItem.id, OutboxItem.status, OutboxItem.attempts, OutboxItem.lease_until,
                              OutboxItem.kind, OutboxItem.recipient, Conversation.ref, OutboxItem.created_at,
                              OutboxItem.next_attempt_at, OutboxItem.expires_at, OutboxItem.last_error,
                              OutboxItem.message_id)
                       .join(Conversation, col(Conversation.id) == OutboxItem.conversation_id, isouter=True)
                       .where(col(OutboxItem.status).in_(_STATUSES[state]))
                       .order_by(col(OutboxItem.id)).limit(limit)).all()
    now = utc_now()
    items = [{"id": r[0], "state": state_of(r[1], r[2], r[3], now), "attempts": r[2], "kind": r[4],
              "recipient": r[5], "conversation": r[6], "created_at": r[7], "next_attempt_at": r[8],
              "expires_at": r[9], "last_error": r[10], "message_id": r[11]} for r in rows]
    if state in (Shown.PENDING, Shown.RETRYING):
        items = [i for i in items if i["state"] == state.value]
    if json_:
        emit_jsonl(items)
        return
    table(("ID", "STATE", "KIND", "TO", "CONVERSATION", "TRIES", "NEXT ATTEMPT (UTC)", "LAST ERROR"),
          [(str(i["id"]), styled(str(i["state"])), str(i["kind"]), str(i["recipient"]) or "-",
            str(i["conversation"] or "-"), str(i["attempts"]),
            when(i["next_attempt_at"]) if i["state"] in ("pending", "retrying") else "-",  # type: ignore[arg-type]
            " ".join(str(i["last_error"] or "-").split())) for i in items],
          empty=f"no {state.value} mail in the outbox" if state != Shown.ALL else "the outbox is empty")


@app.command()
def retry(id_: IdArgument = None, config: ConfigOption = None,
          all_failed: Annotated[bool, typer.Option("--all-failed", help="Every failed mail.")] = False) -> None:
    """Send a failed or retrying mail at the next pass (same bytes, same Message-ID), with a fresh lifetime.

    Example: gateway queue retry 17   (or: gateway queue retry --all-failed)
    """
    if (id_ is None) != all_failed:
        fail("give an ID or --all-failed (not both)", code=2)
    settings = settings_from(config)
    store = open_store(settings)
    now = utc_now()
    with store.transaction() as tx:
        query = select(OutboxItem).with_for_update()
        items = tx.exec(query.where(OutboxItem.status == OutboxStatus.FAILED) if all_failed
                        else query.where(OutboxItem.id == id_)).all()
        if not items and not all_failed:
            fail(f"no outbox item {id_}; `gateway queue list --state all` shows them")
        for item in items:
            retry_item(tx, item, settings, admin_name(), now)
    typer.echo(f"{len(items)} mail{'s' if len(items) != 1 else ''} will be sent at the next pass of `gateway serve`")


@app.command()
def cancel(id_: Annotated[int, typer.Argument(metavar="ID", max=MAX_ID, help="The id from `gateway queue list`.")],
           config: ConfigOption = None) -> None:
    """Never send this mail; it stays in the outbox as cancelled, and its conversation gets a note.

    Example: gateway queue cancel 17
    """
    store = open_store(settings_from(config))
    with store.transaction() as tx:
        item = tx.get(OutboxItem, id_, with_for_update=True)
        if item is None:
            fail(f"no outbox item {id_}; `gateway queue list --state all` shows them")
        cancel_item(tx, item, admin_name(), utc_now())
    typer.echo(f"cancelled outbox {id_}; it will not be sent")
