"""Writing conversations out: one JSON object per conversation (everything), or an mbox of every message."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from sqlmodel import Session

from gateway.archive.headers import archive_header, without_archive_header
from gateway.records import ConversationRecord, MessageRecord
from gateway.surveys.rows import ratings_by_conversation

# Data other features keep about a conversation, exported under their name in each JSON object: a function from
# the conversations' ids to a list of plain values per id.
Extra = Callable[[Session, Sequence[int]], dict[int, list[object]]]
EXTRAS: dict[str, Extra] = {"ratings": ratings_by_conversation}

_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)


def jsonl_lines(tx: Session, records: Sequence[ConversationRecord]) -> list[bytes]:
    """One line per conversation: its fields, messages with their raw MIME (base64), notes, tags and extras."""
    ids = [r.id for r in records]
    extras = {name: extra(tx, ids) for name, extra in EXTRAS.items()}
    lines = []
    for record in records:
        value = record.to_json()
        value.update({name: found.get(record.id, []) for name, found in extras.items()})
        lines.append(json.dumps(value, ensure_ascii=False).encode("utf-8") + b"\n")
    return lines


def _from_line(message: MessageRecord) -> bytes:
    sender = message.sender if message.sender and message.sender.isascii() else "MAILER-DAEMON"
    return f"From {sender} {time.asctime(message.time.utctimetuple())}\n".encode("ascii")


def rebuilt(message: MessageRecord) -> bytes:
    """A message whose raw bytes retention removed, written again from what the conversation kept: the headers
    that thread it and its text; the attachments are gone, and a header says so."""
    mail = EmailMessage(policy=SMTP)
    mail["From"] = message.sender or "unknown@invalid"
    if message.recipients:
        mail["To"] = ", ".join(message.recipients)
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(message.time)
    if message.message_id:
        mail["Message-ID"] = message.message_id
    names = ", ".join(str(a.get("name", "")) for a in message.attachments)
    mail["X-Gateway-Raw-Removed"] = "by retention" + (f"; attachments were: {names}" if names else "")
    mail.set_content(message.text)
    return mail.as_bytes()


def mbox_entries(records: Sequence[ConversationRecord]) -> list[bytes]:
    """Each message of each conversation as an mboxrd entry, with the archive headers an import reads back."""
    entries = []
    for record in records:
        for message in record.messages:
            header = archive_header(record.ref, {
                "direction": message.direction, "kind": message.kind, "agent": message.agent or "",
                "received": message.time.isoformat()}, {
                "status": record.status, "priority": record.priority, "tags": " ".join(record.tags),
                "assignee": record.assignee or ""})
            raw = message.raw if message.raw is not None else rebuilt(message)
            body = (header + without_archive_header(raw)).replace(b"\r\n", b"\n")
            body = _FROM_LINE.sub(rb">\1", body)
            entries.append(_from_line(message) + body + (b"" if body.endswith(b"\n") else b"\n") + b"\n")
    return entries
