"""The headers an export puts on each message so an import can rebuild its conversation exactly.

Like Gmail's X-GM-THRID in a Takeout mbox, they describe the archive, not the mail: the pipeline reads them only
from mail that `gateway import` stored, never from mail that arrived by SMTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gateway.models import Priority, Status

REF = "X-Gateway-Ref"
MESSAGE = "X-Gateway-Message"  # direction=out; kind=agent_reply; agent=alice@example.com; received=<ISO 8601>
CONVERSATION = "X-Gateway-Conversation"  # status=resolved; priority=high; tags=billing vip; assignee=alice@…
NAMES = (REF, MESSAGE, CONVERSATION)


@dataclass(frozen=True)
class ArchiveHints:
    ref: str = ""
    direction: str = ""  # "in" or "out"; "" when the archive does not say
    kind: str = ""
    agent: str = ""
    received: datetime | None = None
    status: str = ""
    priority: str = ""
    tags: tuple[str, ...] | None = None
    assignee: str = ""


def _pairs(values: dict[str, str]) -> str:
    return "; ".join(f"{key}={value}" for key, value in values.items() if value)


def archive_header(ref: str, message: dict[str, str], conversation: dict[str, str]) -> bytes:
    """The header lines to put in front of one exported message (CRLF, as the messages themselves)."""
    return (f"{REF}: {ref}\r\n{MESSAGE}: {_pairs(message)}\r\n"
            f"{CONVERSATION}: {_pairs(conversation)}\r\n").encode()


def without_archive_header(raw: bytes) -> bytes:
    """The message as it was before an export put our header lines in front (so they never stack)."""
    prefixes = tuple(f"{name}:".lower().encode() for name in NAMES)
    while raw[:30].lower().startswith(prefixes):
        end = raw.find(b"\n")
        raw = raw[end + 1:] if end >= 0 else b""
    return raw


def _read_pairs(value: str) -> dict[str, str]:
    return {key.strip(): val.strip() for key, _, val in (p.partition("=") for p in value.split(";")) if key.strip()}


def _time(value: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.utcoffset() is not None else None


def read_hints(header: Callable[[str], str]) -> ArchiveHints:
    """What the archive says about a message (`header` looks one up, "" when absent); empty where it says nothing."""
    ref = header(REF).strip().upper()
    message, conversation = _read_pairs(header(MESSAGE)), _read_pairs(header(CONVERSATION))
    status, priority = conversation.get("status", ""), conversation.get("priority", "")
    return ArchiveHints(
        ref=ref if len(ref) == 8 and ref.isalnum() else "",
        direction=message.get("direction", "") if message.get("direction") in ("in", "out") else "",
        kind=message.get("kind", ""), agent=message.get("agent", "").lower(),
        received=_time(message.get("received", "")),
        status=status if status in set(Status) else "", priority=priority if priority in set(Priority) else "",
        tags=tuple(conversation["tags"].split()) if "tags" in conversation else None,
        assignee=conversation.get("assignee", "").lower())
