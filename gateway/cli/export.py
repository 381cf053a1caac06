"""`gateway export`: every conversation, complete, as JSON Lines or as an mbox; interrupted, it resumes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from sqlmodel import Session, col, func, select

from gateway.archive.writers import jsonl_lines, mbox_entries
from gateway.cli.common import ConfigOption, SinceOption, fail, open_store, settings_from, since_time
from gateway.cli.output import counted
from gateway.cli.progress import progress
from gateway.cli.refs import find_conversation
from gateway.models import Conversation
from gateway.records import ConversationRecord, conversation_records
from gateway.store import Store

BATCH = 100


class Format(StrEnum):
    JSONL = "jsonl"
    MBOX = "mbox"


class Resume:
    """Where an interrupted export to OUT stopped: OUT.part holds what was written, OUT.part.json says how far."""

    def __init__(self, out: Path, wanted: dict[str, object]) -> None:
        self.part, self.state_file = out.with_name(out.name + ".part"), out.with_name(out.name + ".part.json")
        self.wanted = wanted
        saved = json.loads(self.state_file.read_text()) if self.state_file.exists() and self.part.exists() else {}
        same = saved.get("wanted") == wanted
        self.after_id, self.offset, self.done = (saved["after_id"], saved["offset"], saved["done"]) if same else (0, 0, 0)
        self.since: str | None = saved.get("since") if same else None

    def save(self, after_id: int, offset: int, done: int, since: datetime | None) -> None:
        self.after_id, self.offset, self.done = after_id, offset, done
        state = {"wanted": self.wanted, "after_id": after_id, "offset": offset, "done": done,
                 "since": since.isoformat() if since else None}
        self.state_file.write_text(json.dumps(state))

    def finish(self, out: Path) -> None:
        self.part.replace(out)
        self.state_file.unlink(missing_ok=True)


def _batches(records: Iterator[ConversationRecord]) -> Iterator[list[ConversationRecord]]:
    while batch := list(islice(records, BATCH)):
        yield batch


def _count(tx: Session, refs: list[str] | None, since: datetime | None, after_id: int) -> int:
    query = select(func.count()).select_from(Conversation).where(col(Conversation.id) > after_id)
    if refs is not None:
        query = query.where(col(Conversation.ref).in_(refs))
    if since is not None:
        query = query.where(col(Conversation.updated_at) >= since)
    return tx.exec(query).one()


def _write(tx: Session, store: Store, stream: BinaryIO, format_: Format, refs: list[str] | None,
           since: datetime | None, resume: Resume | None) -> int:
    """Write every chosen conversation after the resume point; return how many in all."""
    after_id, done = (resume.after_id, resume.done) if resume else (0, 0)
    total = done + _count(tx, refs, since, after_id)
    with progress("export", total, done) as advance:
        records = conversation_records(tx, refs, BATCH, after_id=after_id, since=since, raw_from=store)
        for batch in _batches(records):
            for entry in jsonl_lines(tx, batch) if format_ is Format.JSONL else mbox_entries(batch):
                stream.write(entry)
            done += len(batch)
            if resume is not None:
                # The state is saved only once the bytes are on disk, so a resume never skips what was lost.
                stream.flush()
                os.fsync(stream.fileno())
                resume.save(batch[-1].id, stream.tell(), done, since)
            advance(len(batch))
    return done


def export(out: Annotated[Path, typer.Argument(help="The file to write, or - for standard output.")],
           config: ConfigOption = None,
           format_: Annotated[Format, typer.Option("--format", help=(
               "jsonl: one object per conversation with everything (messages with raw MIME in base64, notes, tags, "
               "ratings); mbox: every message, readable by any mail client and by `gateway import mbox`."))]
           = Format.JSONL,
           since: SinceOption = None,
           conversation: Annotated[list[str] | None, typer.Option(
               "--conversation", metavar="REF", help="Only this conversation; repeatable.")] = None) -> None:
    """Export conversations, oldest first, with a progress bar.

    --since counts activity (a new message, a change) from then on. Ctrl-C leaves OUT.part; the same command
    again resumes there. An mbox export imported into an empty gateway gives back the same conversations.

    Example: gateway export --format mbox --since 30d support.mbox
    """
    settings = settings_from(config)
    if str(out) != "-" and not out.absolute().parent.is_dir():
        fail(f"{out}: the folder {out.absolute().parent} does not exist; create it or write the export elsewhere",
             code=2)
    store = open_store(settings)
    with store.reading() as tx:
        refs = [find_conversation(tx, ref).ref for ref in conversation] if conversation else None
        if str(out) == "-":
            _write(tx, store, sys.stdout.buffer, format_, refs, since_time(since, settings), None)
            return
        resume = Resume(out, {"format": format_.value, "since": since, "conversations": refs})
        moment = datetime.fromisoformat(resume.since) if resume.since else since_time(since, settings)
        if resume.done:
            typer.echo(f"resuming: {resume.done} conversations already in {resume.part}", err=True)
        try:
            with resume.part.open("r+b" if resume.offset else "wb") as stream:
                stream.truncate(resume.offset)
                stream.seek(resume.offset)
                count = _write(tx, store, stream, format_, refs, moment, resume)
        except KeyboardInterrupt:
            fail(f"interrupted after {resume.done} conversations; {resume.part} holds them, and the same command "
                 "again resumes there", code=130)
    resume.finish(out)
    typer.echo(f"wrote {counted(count, 'conversation')} to {out}")


def register(app: typer.Typer) -> None:
    app.command()(export)
