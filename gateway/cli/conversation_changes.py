"""`gateway conversations tag | untag | assign | close | reopen | note | reply | merge | split | link`.

State changes go through the same apply() as agents' #commands, and leave the same notes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import html2text
import typer
from sqlmodel import Session, col, select

from gateway.actions import UpdateConversation
from gateway.agents.commands import parse_commands
from gateway.agents.roster import AgentView, find_agent
from gateway.cli.common import MAX_ID, ConfigOption, admin_name, fail, open_runtime, settings_from
from gateway.cli.refs import RefArgument, find_conversation, ref_argument
from gateway.clock import utc_now
from gateway.conversation_admin import add_note, change, link as link_conversations, merge_into, reply as send_reply
from gateway.merge import survivor
from gateway.models import Conversation, Customer, Message, Status
from gateway.pipeline import load_roster
from gateway.runtime import Runtime
from gateway.split import split as split_conversation

TagsArgument = Annotated[list[str], typer.Argument(metavar="TAG...", help="One or more tags, e.g. billing.")]


@contextmanager
def _changing(config: Path | None) -> Iterator[tuple[Session, Runtime]]:
    """One change in one transaction; a refusal (GatewayError) reaches the command line as one line, exit 1."""
    rt = open_runtime(settings_from(config))
    with rt.store.transaction() as tx:
        yield tx, rt


def _update(config: Path | None, ref: str, update: UpdateConversation, done: str, unchanged: str) -> None:
    with _changing(config) as (tx, rt):
        conversation = find_conversation(tx, ref, for_change=True)
        changed = change(tx, rt, conversation, update, admin_name(), utc_now())
    typer.echo(f"{conversation.ref}: {done if changed else unchanged}")


def _tags(tags: list[str], command: str) -> tuple[str, ...]:
    """Tags checked as an agent's #tag line is, so both ways accept the same words."""
    parsed = parse_commands("\n".join(f"#{command} {t}" for t in tags))
    if parsed.errors:
        fail(parsed.errors[0].lstrip("#"), code=2)
    return tuple(c.argument for c in parsed.commands)


def tag(ref: RefArgument, tags: TagsArgument, config: ConfigOption = None) -> None:
    """Add tags (kept in a note, as an agent's #tag is).

    Example: gateway conversations tag K7Q2M9XA billing refund
    """
    wanted = _tags(tags, "tag")
    _update(config, ref, UpdateConversation(add_tags=wanted), f"tagged {', '.join(wanted)}", "already has those tags")


def untag(ref: RefArgument, tags: TagsArgument, config: ConfigOption = None) -> None:
    """Remove tags.

    Example: gateway conversations untag K7Q2M9XA refund
    """
    wanted = _tags(tags, "untag")
    _update(config, ref, UpdateConversation(remove_tags=wanted), f"untagged {', '.join(wanted)}",
            "has none of those tags")


def _agent(tx: Session, name: str) -> AgentView:
    roster = load_roster(tx)
    if name.strip().lower() == "me":
        fail("`me` is for agents writing by mail; name the agent, e.g. alice or alice@example.com", code=2)
    found = find_agent(name, AgentView(0, "", ""), roster)
    if isinstance(found, str):
        fail(found.split(": ", 1)[1].replace("by that name", f"{name!r}"), code=2)
    return found


def assign(ref: RefArgument,
           agent: Annotated[str, typer.Argument(metavar="AGENT", help="Address, local part or name; or nobody.")],
           config: ConfigOption = None) -> None:
    """Assign to an agent (their notifications come to them alone), or to nobody.

    Example: gateway conversations assign K7Q2M9XA alice
    """
    if agent.strip().lower() in ("nobody", "none"):
        _update(config, ref, UpdateConversation(unassign=True), "unassigned", "is assigned to nobody already")
        return
    rt = open_runtime(settings_from(config))
    with rt.store.reading() as tx:
        chosen = _agent(tx, agent)
    _update(config, ref, UpdateConversation(assign=chosen), f"assigned to {chosen.address}",
            f"is assigned to {chosen.address} already")


def close(ref: RefArgument, config: ConfigOption = None) -> None:
    """Resolve it, as an agent's #close does.

    Example: gateway conversations close K7Q2M9XA
    """
    _update(config, ref, UpdateConversation(status=Status.RESOLVED), "resolved", "is resolved already")


def reopen(ref: RefArgument, config: ConfigOption = None) -> None:
    """Open it again, as an agent's #open does.

    Example: gateway conversations reopen K7Q2M9XA
    """
    _update(config, ref, UpdateConversation(status=Status.OPEN), "open", "is open already")


def note(ref: RefArgument, text: Annotated[str, typer.Argument(help="The note; never sent to the customer.")],
         config: ConfigOption = None) -> None:
    """Add an internal note: kept on the conversation for agents and admins, never sent to the customer.

    Example: gateway conversations note K7Q2M9XA "Called her back; waiting for the invoice number"
    """
    if not text.strip():
        fail("the note is empty; write it in quotes after the ref", code=2)
    with _changing(config) as (tx, rt):
        conversation = find_conversation(tx, ref, for_change=True)
        add_note(tx, rt, conversation, text, admin_name(), utc_now())
    typer.echo(f"{conversation.ref}: note added")


def _read(file: Path) -> tuple[str, str]:
    """(text, html) of the reply file; an .html file is sent as HTML with a text alternative."""
    try:
        content = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text; save it as UTF-8", code=2)
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}", code=2)
    if file.suffix.lower() in (".html", ".htm"):
        converter = html2text.HTML2Text()
        converter.body_width = 0
        text, html = converter.handle(content).strip(), content
    else:
        text, html = content, ""
    if not text.strip():
        fail(f"{'standard input' if str(file) == '-' else file} is empty; write the answer into it", code=2)
    return text, html


def reply(ref: RefArgument,
          file: Annotated[Path, typer.Option("--file", "-f", help="The answer: a text file, an .html file, or - "
                                                                  "for standard input.")],
          as_: Annotated[str | None, typer.Option("--as", help="The agent it is from \\[default: the assignee].",
                                                  show_default=False)] = None,
          force: Annotated[bool, typer.Option(help="Send even though a colleague just answered.")] = False,
          config: ConfigOption = None) -> None:
    """Send an answer to the customer as an agent, through the same relay and outbox as agents' mail replies.

    Example: gateway conversations reply K7Q2M9XA --file answer.txt --as alice
    """
    text, html = _read(file)
    # By mail these lines are commands (#note keeps the whole mail internal); here they would reach the customer.
    commands = parse_commands(text)
    if commands.commands or commands.errors:
        first = next(line.strip() for line in text.splitlines() if line.strip())
        fail(f"the answer starts with the command line {first!r}, which the customer would read; this command only "
             "sends answers (use `gateway conversations note|close|tag|assign`), so remove it", code=2)
    with _changing(config) as (tx, rt):
        conversation = find_conversation(tx, ref, for_change=True)
        agent = _agent(tx, as_) if as_ else next((a for a in load_roster(tx) if a.id == conversation.assignee_id), None)
        if agent is None:
            agents = ", ".join(a.address for a in load_roster(tx)) or "none yet: `gateway agents add ADDRESS`"
            fail(f"{conversation.ref} is assigned to nobody; say who answers with --as AGENT (agents: {agents})",
                 code=2)
        now = utc_now()
        send_reply(tx, rt, conversation, agent, text, html, now, force=force)
        customer = tx.get(Customer, conversation.customer_id) if conversation.customer_id else None
    typer.echo(f"{conversation.ref}: reply from {agent.address} queued for the customer; `gateway serve` sends it")
    if customer is not None and customer.bounced_at is not None and (
            now - customer.bounced_at < rt.settings.autoreply.bounce_window):
        typer.echo(f"warning: mail to {customer.address} hard-bounced on {customer.bounced_at:%Y-%m-%d}; this reply "
                   "may not arrive either (`gateway conversations show` has the bounce)", err=True)


def merge(ref: Annotated[str, ref_argument("REF", "The conversation to fold in, e.g. K7Q2M9XA.")],
          into: Annotated[str, ref_argument("INTO_REF", "The conversation that stays.")],
          config: ConfigOption = None) -> None:
    """Merge REF into INTO_REF (same customer only): its messages move, and later mail for either goes to INTO_REF.

    Example: gateway conversations merge K7Q2M9XA QW3RT5YZ
    """
    with _changing(config) as (tx, rt):
        source, target = find_conversation(tx, ref), find_conversation(tx, into)
        before = survivor(tx, target).status  # INTO_REF may have been merged on: what counts is where mail goes.
        target = merge_into(tx, rt, source, target, admin_name(), utc_now())
    reopened = f"; {target.ref} is {target.status} again, as {source.ref} was" if target.status != before else ""
    typer.echo(f"merged {source.ref} into {target.ref}{reopened}")


def _message(tx: Session, conversation: Conversation, wanted: str) -> Message:
    """A message by the number `show` prints (#12) or by its Message-ID."""
    number = wanted.strip().lstrip("#")
    query = select(Message).where(Message.conversation_id == conversation.id)
    # A number past the largest id names no message (and would overflow the database's integer).
    found = tx.exec(query.where(Message.id == int(number)) if number.isdigit() and int(number) <= MAX_ID
                    else query.where(col(Message.message_id) == wanted.strip())).first()
    if found is None:
        fail(f"{conversation.ref} has no message {wanted!r}; `gateway conversations show {conversation.ref}` "
             "numbers them (#ID)", code=2)
    return found


def split(ref: RefArgument,
          from_: Annotated[str, typer.Option("--from", metavar="MESSAGE", help=(
              "The first message to move: its number from `show` (#12) or its Message-ID."))],
          config: ConfigOption = None) -> None:
    """Move a message and all after it to a new conversation, linked to this one; the customer is told nothing.

    Example: gateway conversations split K7Q2M9XA --from 12
    """
    with _changing(config) as (tx, _):
        conversation = find_conversation(tx, ref, for_change=True)
        new = split_conversation(tx, conversation, _message(tx, conversation, from_), admin_name(), utc_now())
    typer.echo(f"split {conversation.ref}: message {from_.lstrip('#')} and what follows are now {new.ref}")


def link(ref: RefArgument,
         other: Annotated[str, ref_argument("OTHER_REF", "The related conversation.")],
         config: ConfigOption = None) -> None:
    """Link REF to a related conversation (another customer's, say); neither customer sees the other's mail.

    Example: gateway conversations link K7Q2M9XA QW3RT5YZ
    """
    with _changing(config) as (tx, _):
        conversation, target = find_conversation(tx, ref, for_change=True), find_conversation(tx, other)
        linked = link_conversations(tx, conversation, target, admin_name(), utc_now())
    typer.echo(f"{conversation.ref}: linked to {target.ref}" if linked else
               f"{conversation.ref} is linked to {target.ref} already")


def register(app: typer.Typer) -> None:
    for command in (tag, untag, assign, close, reopen, note, reply, merge, split, link):
        app.command()(command)
