"""`gateway conversations list | show REF`; the verbs that change one are in conversation_changes.py."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy import ColumnElement, Text, cast
from sqlmodel import Session, col, func, select

from gateway.attention import attention_order, is_partner, waiting_since
from gateway.cli.common import (MAX_ID, ConfigOption, JsonOption, SinceOption, fail, open_store, settings_from,
                                since_time)
from gateway.cli.exchange import print_exchange
from gateway.cli.output import ago, emit_json, emit_jsonl, styled, table
from gateway.cli.refs import RefArgument, find_conversation
from gateway.cli.related import show_related
from gateway.clock import utc_now
from gateway.config import Settings
from gateway.models import Agent, Conversation, Customer, Message, Status
from gateway.records import conversation_records
from gateway.search import matching, search_terms

app = typer.Typer(no_args_is_help=True, help="Look at and change conversations.\n\n"
                                             "Example: gateway conversations list --status open --partner")


def _assignee_filter(tx: Session, wanted: str) -> ColumnElement[bool]:
    if wanted.lower() in ("none", "nobody"):
        return col(Conversation.assignee_id).is_(None)
    value = wanted.strip().lower()
    agents = tx.exec(select(Agent).where(Agent.active)).all()
    found = [a for a in agents if value in (a.address, a.address.partition("@")[0], a.name.lower(),
                                           a.name.lower().split(" ")[0])]
    if len(found) != 1:
        known = ", ".join(sorted(a.address for a in agents)) or "none yet"
        why = "more than one agent by that name; give the address" if found else f"no agent {wanted!r}"
        fail(f"--assignee: {why} (agents: {known}; `nobody` for unassigned)", code=2)
    return col(Conversation.assignee_id) == found[0].id


def _filters(tx: Session, settings: Settings, statuses: list[Status] | None, every: bool, channel: str | None,
             tags: list[str] | None, assignee: str | None, customer: str | None, partner: bool,
             since: str | None, search: str | None) -> list[ColumnElement[bool]]:
    chosen = [s.value for s in statuses] if statuses else [Status.OPEN.value, Status.PENDING.value]
    where = [] if every else [col(Conversation.status).in_(chosen)]
    if channel:
        wanted = channel.strip().lower()
        where.append(col(Conversation.channel) == wanted if "@" in wanted
                     else col(Conversation.channel).like(f"{wanted}@%"))
    for tag in tags or ():
        # A tag is one word: find it, quoted as the stored JSON list writes it, in that list's text.
        quoted = json.dumps(tag.strip().lower()).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(cast(col(Conversation.tags), Text).like(f"%{quoted}%", escape="\\"))
    if assignee:
        where.append(_assignee_filter(tx, assignee))
    if customer:
        pattern = f"%{customer.strip()}%"
        where.append(col(Customer.address).ilike(pattern) | col(Customer.name).ilike(pattern))
    if partner:
        where.append(is_partner(settings))
    if (moment := since_time(since, settings)) is not None:
        where.append(col(Conversation.updated_at) >= moment)
    if search is not None:
        if not search_terms(search):
            fail(f"--search {search!r} has no words to look for; give words, like --search 'refund \"credit card\"'",
                 code=2)
        where.append(matching(tx, search))
    return where


@app.command("list")
def list_(config: ConfigOption = None, json_: JsonOption = False,
          status: Annotated[list[Status] | None, typer.Option(
              help="Only this state; repeatable \\[default: open and pending].", show_default=False)] = None,
          all_: Annotated[bool, typer.Option("--all", help="Every state, resolved too.")] = False,
          channel: Annotated[str | None, typer.Option(help="Only this channel: billing@example.com or billing.")] = None,
          tag: Annotated[list[str] | None, typer.Option(help="Only with this tag; repeatable (all must match).")] = None,
          assignee: Annotated[str | None, typer.Option(
              help="Only assigned to this agent (address, name), or `nobody`.")] = None,
          customer: Annotated[str | None, typer.Option(help="Customer address or name contains this.")] = None,
          partner: Annotated[bool, typer.Option("--partner", help="Only partners' conversations.")] = False,
          since: SinceOption = None,
          search: Annotated[str | None, typer.Option(
              help="Words (all must occur) in the subject or what was written; \"quote a phrase\".")] = None,
          limit: Annotated[int, typer.Option(min=1, max=MAX_ID, help="At most this many.")] = 50) -> None:
    """List conversations, the ones that need a person first.

    Order: open, then pending; within them higher priority, then partners (★), then those waiting for a first
    reply (STATUS new), then the longest wait for an answer (WAITING: since the customer's first message after
    our last reply; "-" when they have our answer). Resolved ones (with --all or --status resolved) come last, newest first. --since counts activity (a new message, a change) from then on.

    Example: gateway conversations list --tag billing --since 2d --search "refund invoice"
    """
    settings = settings_from(config)
    store = open_store(settings)
    waiting = waiting_since()
    with store.reading() as tx:
        query = (select(Conversation, Customer, Agent.address, is_partner(settings), waiting)
                 .join(Customer, isouter=True).join(Agent, col(Agent.id) == Conversation.assignee_id, isouter=True)
                 .where(*_filters(tx, settings, status, all_, channel, tag, assignee, customer, partner, since,
                                  search)))
        found = tx.exec(query.order_by(*attention_order(settings, waiting)).limit(limit)).all()
        # Counted for the rows shown only: counting every conversation's messages first costs seconds at 1M.
        counts = dict(tx.exec(select(Message.conversation_id, func.count()).where(
            col(Message.conversation_id).in_([c.id for c, *_ in found])).group_by(Message.conversation_id)).all())
    rows = [(c, who, counts.get(c.id, 0), agent, p, since) for c, who, agent, p, since in found]
    now = utc_now()
    if json_:
        emit_jsonl({"ref": c.ref, "status": c.status, "priority": c.priority, "customer": who.address if who else "",
                    "partner": bool(is_partner_), "channel": c.channel, "subject": c.subject, "tags": c.tags,
                    "assignee": agent, "messages": n or 0, "created_at": c.created_at,
                    "updated_at": c.updated_at, "first_response_at": c.first_response_at,
                    "waiting_since": since if c.status != Status.RESOLVED else None}
                   for c, who, n, agent, is_partner_, since in rows)
        return
    # "new": open and never answered, the first thing to look at.
    table(("REF", "STATUS", "PRI", "CUSTOMER", "SUBJECT", "TAGS", "ASSIGNEE", "MSGS", "WAITING"),
          [(c.ref, styled("new", "bold yellow") if c.status == Status.OPEN and c.first_response_at is None
            else styled(c.status), styled(c.priority) if c.priority != "normal" else "-",
            (who.address if who else "-") + (" ★" if p else ""), c.subject, ",".join(c.tags) or "-",
            agent or "-", str(n or 0), ago(now - since) if since and c.status != Status.RESOLVED else "-")
           for c, who, n, agent, p, since in rows],
          empty="no conversations match" + ("" if all_ or status else " (resolved ones need --all)"))


@app.command()
def show(ref: RefArgument, config: ConfigOption = None, json_: JsonOption = False,
         full: Annotated[bool, typer.Option("--full", help="Unfold quotes, signatures and automatic mail.")] = False
         ) -> None:
    """Show the whole exchange: every message (quotes folded), internal notes and delivery problems, in order.

    Each message is numbered (#ID) for `split --from` and `kb export --message`.

    Example: gateway conversations show K7Q2M9XA --full
    """
    store = open_store(settings_from(config))
    with store.reading() as tx:
        conversation = find_conversation(tx, ref)
        record = next(conversation_records(tx, [conversation.ref]))
    if json_:
        emit_json(record.to_json())
        return
    print_exchange(record, full)


@app.command()
def related(ref: RefArgument, config: ConfigOption = None, json_: JsonOption = False,
            days: Annotated[int, typer.Option(min=1, max=36500, help="Look this many days before and after it.")] = 30,
            min_score: Annotated[float, typer.Option(min=0.0, max=1.0, help="How alike, 0 to 1.")] = 0.25,
            limit: Annotated[int, typer.Option(min=1, max=MAX_ID, help="At most this many, most alike first.")] = 20,
            known_issue: Annotated[str | None, typer.Option(
                help="Tag REF and every conversation listed with this name, as a known issue.")] = None) -> None:
    """Conversations from other customers about the same thing, by how alike their first messages read.

    Example: gateway conversations related K7Q2M9XA --known-issue export-timeout
    """
    show_related(settings_from(config), ref, days, min_score, limit, json_, known_issue)
