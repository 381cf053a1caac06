"""`gateway import mbox|maildir PATH`: bring in past mail, threaded by the same code, sending nothing."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import select

from gateway.archive.colleagues import unlisted_agents
from gateway.archive.importer import import_mailbox, position_of
from gateway.archive.mailboxes import Mailbox
from gateway.cli.common import ConfigOption, fail, open_runtime, settings_from
from gateway.cli.output import counted
from gateway.cli.progress import progress
from gateway.clock import utc_now
from gateway.errors import GatewayError
from gateway.models import Agent
from gateway.pipeline import list_addresses
from gateway.runtime import Runtime


class Kind(StrEnum):
    MBOX = "mbox"
    MAILDIR = "maildir"


def import_(kind: Annotated[Kind, typer.Argument(metavar="mbox|maildir", help="What PATH is: an mbox file, or a "
                                                                                "Maildir (or a folder of .eml files).")],
            path: Annotated[Path, typer.Argument(help="The mailbox to import.", exists=True)],
            channel: Annotated[str, typer.Option(help="The support address this mail came to [default: from its "
                                                      "To and Cc, else the first of \\[mail] addresses].",
                                                 show_default=False)] = "",
            force: Annotated[bool, typer.Option("--force", help="Import even though people who answered customers in "
                                                                "it are not agents here: their mail is taken for "
                                                                "customers'.")] = False,
            config: ConfigOption = None) -> None:
    """Import past mail, threaded like new mail; nothing is sent for it.

    Threaded into conversations by the same code as new mail, with no acknowledgement, notification or survey sent
    for any of it. Our own replies in it are kept as sent mail; conversations it opens are resolved unless the archive (an mbox
    from `gateway export`) says otherwise. Mail already here is recognised and skipped. Shows a progress bar;
    Ctrl-C stops after the batch in hand, and the same command again resumes there.

    Example: gateway import mbox old-support.mbox --channel support@example.com
    """
    settings = settings_from(config)
    if channel and channel.strip().lower() not in settings.support_addresses:
        fail(f"--channel {channel}: not one of [mail] addresses ({', '.join(settings.mail.addresses)})", code=2)
    try:
        box = Mailbox(kind.value, path)
    except GatewayError as exc:
        fail(str(exc), code=2)
    rt = open_runtime(settings)
    start = position_of(rt, box)
    if not force:
        _refuse_unlisted_agents(rt, box, start)
    if start and start >= len(box):
        typer.echo(f"{path} was imported already ({len(box)} messages); new mail appended to it is imported when "
                   "there is some")
    try:
        with progress("import", len(box), start) as advance:
            summary = import_mailbox(rt, box, channel.strip().lower(), utc_now(), advance)
    except KeyboardInterrupt:
        fail(f"interrupted after {position_of(rt, box)} of {len(box)} messages; the same command again resumes there",
             code=130)
    words = {"processed": "new", "duplicate": "already here", "quarantined": "quarantined (`gateway quarantine list`)"}
    states = ", ".join(f"{n} {words.get(state, state)}" for state, n in sorted(summary.states.items())) or "nothing new"
    skipped = f"; {summary.not_mail} entries were not mail and were skipped" if summary.not_mail else ""
    typer.echo(f"imported {counted(summary.stored, 'message')} from {path} ({states}) into "
               f"{counted(len(summary.conversations), 'conversation')}; nothing was sent{skipped}")


def _refuse_unlisted_agents(rt: Runtime, box: Mailbox, start: int) -> None:
    """Stop before anything is stored when the archive shows people answering customers who are no agents here."""
    with rt.store.reading() as tx:
        # Active agents only: a removed one's answers would be classified as a customer's, as anyone's.
        known = frozenset(tx.exec(select(Agent.address).where(Agent.active)).all()) | list_addresses(tx, rt.settings)
    found = unlisted_agents((item.raw for item in box.items(start)), rt.settings.support_addresses, known)
    if found:
        who = ", ".join(f"{address} ({counted(n, 'message')})" for address, n in found.most_common(5))
        more = f" and {counted(len(found) - 5, 'other')}" if len(found) > 5 else ""
        fail(f"{box.path} shows {who}{more} answering customers, but they are not agents here, so their mail would "
             "open customers' conversations; add them first (`gateway agents add ADDRESS`), or pass --force if "
             "they are customers")


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
