"""`gateway agents add | list | remove`: who answers customers, by mail."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlmodel import col, select

from gateway.cli.common import ConfigOption, JsonOption, fail, open_store, settings_from
from gateway.cli.output import table
from gateway.clock import utc_now
from gateway.config import is_plain_address
from gateway.models import Agent, Conversation, Status

app = typer.Typer(no_args_is_help=True, help="Manage the agents who answer customers from their own mail client.\n\n"
                                            "Example: gateway agents add alice@example.com --name Alice")

AddressArgument = Annotated[str, typer.Argument(help="The agent's own mail address, e.g. alice@example.com.")]


@app.command()
def add(address: AddressArgument, config: ConfigOption = None,
        name: Annotated[str, typer.Option(help="How customers see them: \"Alice (Support)\".")] = "",
        tier: Annotated[int | None, typer.Option(min=1, max=9, show_default=False,
                                                 help="Support tier, 1 to 9 \\[default: 1, or unchanged]; "
                                                      "partners can go to tier 2 and up.")] = None,
        ) -> None:
    """Add an agent, or change an existing one's name or tier.

    Example: gateway agents add alice@example.com --name "Alice" --tier 2
    """
    address = address.strip().lower()
    if not is_plain_address(address):
        fail(f"{address!r} is not a plain ASCII mail address; give one like alice@example.com", code=2)
    settings = settings_from(config)
    if address in settings.support_addresses:
        fail(f"{address} is one of our support addresses; an agent needs their own mailbox", code=2)
    store = open_store(settings)
    with store.transaction() as tx:
        agent = tx.exec(select(Agent).where(Agent.address == address)).first()
        verb = "updated" if agent else "added"
        if agent is None:
            agent = Agent(address=address, created_at=utc_now())
        agent.name, agent.tier, agent.active = name or agent.name, tier or agent.tier or 1, True
        tx.add(agent)
        summary = f"{verb} agent {address}" + (f" ({agent.name})" if agent.name else "") + f", tier {agent.tier}"
    typer.echo(summary)


@app.command("list")
def list_(config: ConfigOption = None, json_: JsonOption = False) -> None:
    """List the agents.

    Example: gateway agents list --json
    """
    store = open_store(settings_from(config))
    with store.reading() as tx:
        agents = tx.exec(select(Agent).where(Agent.active).order_by(col(Agent.address))).all()
    if json_:
        for a in agents:
            typer.echo(json.dumps({"address": a.address, "name": a.name, "tier": a.tier}, ensure_ascii=False))
        return
    table(("ADDRESS", "NAME", "TIER"), [(a.address, a.name or "-", str(a.tier)) for a in agents],
          empty="no agents yet; add one with: gateway agents add alice@example.com --name Alice")


@app.command()
def remove(address: AddressArgument, config: ConfigOption = None) -> None:
    """Remove an agent; their conversations become unassigned, their past replies stay.

    Example: gateway agents remove alice@example.com
    """
    address = address.strip().lower()
    store = open_store(settings_from(config))
    with store.transaction() as tx:
        agent = tx.exec(select(Agent).where(Agent.address == address, Agent.active)).first()
        if agent is None:
            fail(f"no agent {address}; `gateway agents list` shows them")
        assigned = tx.exec(select(Conversation).where(Conversation.assignee_id == agent.id)).all()
        for conversation in assigned:
            conversation.assignee_id = None
        agent.active = False
    said = f"removed agent {address}"
    if open_ones := [c.ref for c in assigned if c.status != Status.RESOLVED]:
        said += (f"; {len(open_ones)} open conversation{'s' if len(open_ones) != 1 else ''} assigned to them now to "
                 f"nobody: {', '.join(open_ones)}")
    typer.echo(said)
