"""Reading mail out of an mbox file, a Maildir, or a folder of .eml files, in a stable order (so an import can
resume at a position)."""

from __future__ import annotations

import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from gateway.errors import GatewayError

# mboxrd: a body line "From …" is written ">From …", and ">From" as ">>From"; reading takes one ">" off.
_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


@dataclass(frozen=True)
class Item:
    position: int
    raw: bytes
    delivered_at: datetime | None  # the mbox "From " line's date
    # The mbox "From " line's sender when it is an address: tools write MAILER-DAEMON (or "-") when they do not
    # know, our export writes whom the mail was taken to be from.
    line_sender: str = ""


class Mailbox:
    """The messages of one mailbox, counted up front, read one at a time from a position."""

    def __init__(self, kind: str, path: Path) -> None:
        self.kind, self.path = kind, path
        if kind == "mbox":
            if not path.is_file():
                raise GatewayError(f"{path} is not an mbox file; for a folder use `gateway import maildir {path}`")
            self._box: mailbox.Mailbox = mailbox.mbox(path, create=False)
            self._keys: list[str] = list(self._box.keys())
        elif (path / "cur").is_dir() and (path / "new").is_dir():
            self._box = mailbox.Maildir(path, factory=None, create=False)
            self._keys = sorted(self._box.keys())
        elif path.is_dir():  # A plain folder of message files (what many tools export).
            self._box = None  # type: ignore[assignment]
            self._keys = sorted(str(p) for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            raise GatewayError(f"{path} is not a Maildir or a folder of messages; for an mbox file use "
                               f"`gateway import mbox {path}`")

    @property
    def source(self) -> str:
        """What the checkpoint of this import is kept under."""
        return f"{self.kind}:{self.path.resolve()}"

    def __len__(self) -> int:
        return len(self._keys)

    def items(self, start: int = 0) -> Iterator[Item]:
        for position in range(start, len(self._keys)):
            key = self._keys[position]
            if self._box is None:
                yield Item(position, Path(key).read_bytes(), None)
            elif self.kind == "mbox":
                yield self._mbox_item(position, key)
            else:
                yield Item(position, self._box.get_bytes(key), None)

    def _mbox_item(self, position: int, key: str) -> Item:
        from_line, _, raw = self._box.get_bytes(key, from_=True).partition(b"\n")  # type: ignore[call-arg]
        sender, _, date = from_line.decode("ascii", "replace").removeprefix("From ").strip().partition(" ")
        return Item(position, _QUOTED_FROM.sub(rb"\1", raw), _asctime(date.strip()),
                    sender.lower() if "@" in sender and not sender.lower().startswith("mailer-daemon@") else "")


def _asctime(text: str) -> datetime | None:
    """The date of an mbox "From " line ("Thu Sep 18 17:54:04 2008", maybe with a zone)."""
    for layout in ("%a %b %d %H:%M:%S %Y", "%a %b %d %H:%M:%S %z %Y"):
        try:
            when = datetime.strptime(" ".join(text.split()), layout)
        except ValueError:
            continue
        return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    try:
        return parsedate_to_datetime(text).astimezone(UTC)
    except (TypeError, ValueError, IndexError):
        return None
