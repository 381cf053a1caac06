"""The time span a report covers, from --since/--until as admins write them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gateway.config import parse_duration

DEFAULT_SPAN = timedelta(days=30)
_AGO = re.compile(r"^\s*\d+\s*[smhdw]\s*$")


@dataclass(frozen=True)
class Window:
    """[since, until) in aware UTC."""

    since: datetime
    until: datetime

    def __contains__(self, at: datetime) -> bool:
        return self.since <= at < self.until


def parse_moment(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """"30d" (that long ago), "today", "2026-03-01" (local midnight) or "2026-03-01 14:00" (local time)."""
    text = text.strip()
    if _AGO.match(text):
        try:
            return now - parse_duration(text)
        except (ValueError, OverflowError):  # Longer than a timedelta holds, or back before the year 1.
            raise ValueError(f"{text!r} reaches back further than dates go; write 30d (ago), 52w or a date like "
                             "2026-03-01") from None
    if text == "today":
        return datetime.combine(now.astimezone(zone).date(), time(), zone).astimezone(UTC)
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), zone).astimezone(UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time; write 30d (ago), today, 2026-03-01 or "
                         "\"2026-03-01 14:00\" (in [hours] timezone)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


def option_moment(option: str, text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """parse_moment() for a command-line option: its error names the option."""
    try:
        return parse_moment(text, now, zone)
    except ValueError as exc:
        raise ValueError(f"{option} {exc}") from None


def report_window(since: str | None, until: str | None, now: datetime, zone: ZoneInfo) -> Window:
    """The window the options name; by default the last 30 days up to now."""
    end = option_moment("--until", until, now, zone) if until is not None else now
    start = option_moment("--since", since, now, zone) if since is not None else end - DEFAULT_SPAN
    if start >= end:
        raise ValueError(f"--since ({start:%Y-%m-%d %H:%M} UTC) must be before --until ({end:%Y-%m-%d %H:%M} UTC)")
    return Window(start, end)
