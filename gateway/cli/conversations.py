"""`gateway conversations list | show REF`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlmodel import col, func, select

from gateway.cli.common import ConfigOption, JsonOption, fail, open_store, settings_from
from gateway.cli.related import show_related
from gateway.clock import utc_now
from gateway.errors import GatewayError
from gateway.merge import merge as merge_conversations
from gateway.models import Conversation, Customer, Message, Status
from gateway.records import conversation_records

app = typer.Typer(no_args_is_help=True, help="Look at conversations.")


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"  # type: ignore[attr-defined]


@app.command("list")
def list_(config: ConfigOption = None, json_: JsonOption = False,
          status: Annotated[Status | None, typer.Option(help="Only conversations in this state.")] = None,
          limit: Annotated[int, typer.Option(min=1, help="At most this many, newest activity first.")] = 50) -> None:
    """List conversations, newest activity first.

    Example: gateway conversations list --status open --json
    """
    store = open_store(settings_from(config))
    counts = select(Message.conversation_id, func.count().label("n")).group_by(Message.conversation_id).subquery()
    query = (select(Conversation, Customer.address, counts.c.n).join(Customer, isouter=True)
             .join(counts, counts.c.conversation_id == Conversation.id, isouter=True))
    if status is not None:
        query = query.where(Conversation.status == status.value)
    with store.reading() as tx:
        rows = tx.exec(query.order_by(col(Conversation.updated_at).desc()).limit(limit)).all()
    if json_:
        for c, customer, n in rows:
            typer.echo(json.dumps({"ref": c.ref, "status": c.status, "customer": customer, "channel": c.channel,
                                   "subject": c.subject, "messages": n or 0, "created_at": c.created_at.isoformat(),
                                   "updated_at": c.updated_at.isoformat()}, ensure_ascii=False))
        return
    table = Table("REF", "STATUS", "CUSTOMER", "SUBJECT", "MSGS", "UPDATED (UTC)", box=None)
    for c, customer, n in rows:
        table.add_row(c.ref, c.status, customer or "-", c.subject[:60], str(n or 0), _when(c.updated_at))
    # markup=False: a subject like "Re: Login [#K7Q2M9XA]" is text, not rich markup to swallow.
    Console(markup=False).print(table if rows else "no conversations yet")


@app.command()
def show(ref: Annotated[str, typer.Argument(help="The conversation's reference, e.g. K7Q2M9XA.")],
         config: ConfigOption = None, json_: JsonOption = False) -> None:
    """Show one conversation and every message in it, with the threading rule that placed each.

    Example: gateway conversations show K7Q2M9XA
    """
    store = open_store(settings_from(config))
    with store.reading() as tx:
        record = next(conversation_records(tx, [ref]), None)
    if record is None:
        fail(f"no conversation {ref!r}; `gateway conversations list` shows the refs")
    if json_:
        typer.echo(json.dumps(record.to_json(), ensure_ascii=False))
        return
    console = Console(markup=False)
    console.print(Text.assemble((record.ref, "bold"), f"  {record.subject}"))
    console.print(f"status {record.status} · customer {record.customer} · channel {record.channel} · "
                  f"opened {_when(record.created_at)} UTC" + (f" · linked to {record.linked_to}"
                                                              if record.linked_to else ""))
    console.print(f"priority {record.priority} · assigned to {record.assignee or 'nobody'} · "
                  f"tags: {', '.join(record.tags) or 'none'}")
    table = Table("TIME (UTC)", "DIR", "KIND", "FROM", "TO", "SUBJECT", "PLACED BY", box=None)
    for m in record.messages:
        to = ", ".join(m.recipients) if m.direction == "out" else "-"
        table.add_row(_when(m.time), m.direction, m.kind, m.sender, to, m.subject[:50], m.placed_by or "-")
    console.print(table)
    for note in record.notes:
        author = f" by {note.author}" if note.author else ""
        console.print(f"NOTE {_when(note.time)} {note.kind.replace('_', ' ')}{author}: {note.body}", highlight=False)


@app.command()
def merge(ref: Annotated[str, typer.Argument(help="The conversation to fold in, e.g. K7Q2M9XA.")],
          into: Annotated[str, typer.Argument(metavar="INTO_REF", help="The conversation that stays.")],
          config: ConfigOption = None) -> None:
    """Merge REF into INTO_REF: its messages move, and later mail for either goes to INTO_REF.

    Example: gateway conversations merge K7Q2M9XA QW3RT5YZ
    """
    store = open_store(settings_from(config))
    with store.transaction() as tx:
        found = {c.ref: c for c in tx.exec(select(Conversation).where(
            col(Conversation.ref).in_([ref.upper(), into.upper()]))).all()}
        for wanted in (ref.upper(), into.upper()):
            if wanted not in found:
                fail(f"no conversation {wanted!r}; `gateway conversations list` shows the refs")
        try:
            merge_conversations(tx, found[ref.upper()], found[into.upper()], utc_now())
        except GatewayError as exc:
            fail(str(exc))
    typer.echo(f"merged {ref.upper()} into {into.upper()}")


@app.command()
def related(ref: Annotated[str, typer.Argument(help="The conversation's reference, e.g. K7Q2M9XA.")],
            config: ConfigOption = None, json_: JsonOption = False,
            days: Annotated[int, typer.Option(min=1, help="Look this many days before and after it.")] = 30,
            min_score: Annotated[float, typer.Option(min=0.0, max=1.0, help="How alike, 0 to 1.")] = 0.25,
            limit: Annotated[int, typer.Option(min=1, help="At most this many, most alike first.")] = 20,
            known_issue: Annotated[str | None, typer.Option(
                help="Tag REF and every conversation listed with this name, as a known issue.")] = None) -> None:
    """Conversations from other customers about the same thing, by how alike their first messages read.

    Example: gateway conversations related K7Q2M9XA --known-issue export-timeout
    """
    show_related(settings_from(config), ref, days, min_score, limit, json_, known_issue)
