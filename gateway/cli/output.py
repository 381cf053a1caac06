"""How every command prints: rich tables and colour on a terminal, plain aligned text when piped, JSON on request."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

Cell = str | Text

# The colours a value gets on a terminal; piped output never carries escape codes.
STYLES = {"open": "yellow", "pending": "blue", "resolved": "green", "urgent": "bold red", "high": "red",
          "low": "dim", "failed": "red", "retrying": "yellow", "cancelled": "dim", "sent": "green",
          "bounced": "red"}

_FLEXIBLE = {"SUBJECT", "TITLE", "REASON", "LAST ERROR", "COMMENT", "VARIANTS", "CUSTOMER", "TAGS", "TO",
             "ENVELOPE FROM", "NAME", "ASSIGNEE"}


def is_terminal() -> bool:
    """Stdout is a terminal (or FORCE_COLOR / TTY_COMPATIBLE say to treat it as one), as rich decides."""
    return Console().is_terminal


def console(stderr: bool = False) -> Console:
    """A console that prints text as written: "[#REF]" in a subject is text, not rich markup."""
    return Console(markup=False, highlight=False, stderr=stderr, soft_wrap=not is_terminal())


def styled(value: str, style: str | None = None) -> Text:
    """`value` in its style (from STYLES when not given); plain when piped."""
    return Text(value, style=style if style is not None else STYLES.get(value, ""))


def table(headers: Sequence[str], rows: Iterable[Sequence[Cell]], empty: str = "") -> None:
    """A table: rich on a terminal; piped, one line per row in aligned columns, never cut or wrapped."""
    rows = list(rows)
    if not rows and empty:
        typer.echo(empty)
        return
    cells = [list(headers)] + [[cell.plain if isinstance(cell, Text) else cell for cell in row] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]
    if is_terminal():
        out = console()
        shown = Table(box=None, header_style="bold")
        for header, width in zip(headers, _fit(headers, widths, out.width)):
            shown.add_column(header, no_wrap=True, overflow="ellipsis", width=width)
        for row in rows:
            shown.add_row(*row)
        out.print(shown)
        return
    for line in cells:
        typer.echo("  ".join(value.ljust(width) for value, width in zip(line, widths)).rstrip())


def _fit(headers: Sequence[str], widths: list[int], room: int) -> list[int]:
    """Column widths for a terminal: refs, ids, states and times whole; the prose columns share what is left."""
    flexible = [i for i, header in enumerate(headers) if header in _FLEXIBLE]
    left = room - 2 * len(headers) - sum(w for i, w in enumerate(widths) if i not in flexible)
    fitted = list(widths)
    # Narrowest first: a short column keeps its width, and what it does not need goes to the wider ones.
    for done, i in enumerate(sorted(flexible, key=lambda i: widths[i])):
        fitted[i] = max(min(widths[i], left // (len(flexible) - done)), 6)
        left -= fitted[i]
    return fitted


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    raise TypeError(f"{type(value).__name__} is not JSON")


def emit_json(value: object) -> None:
    """One JSON object on one line (datetimes as ISO 8601)."""
    typer.echo(json.dumps(value, ensure_ascii=False, default=_plain))


def emit_jsonl(values: Iterable[object]) -> None:
    """JSON Lines: one object per line, so `jq -c` and `while read` both work."""
    for value in values:
        emit_json(value)


def counted(n: int, noun: str) -> str:
    """'1 conversation', '3 conversations'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def ago(delta: timedelta) -> str:
    """A span as people say it: 45m, 3h, 2d 4h."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h" + (f" {minutes}m" if hours < 10 and minutes else "")
    days, hours = divmod(hours, 24)
    return f"{days}d" + (f" {hours}h" if hours else "")
