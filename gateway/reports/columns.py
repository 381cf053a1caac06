"""The main table's columns, shared by the terminal, CSV and HTML forms so they always agree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from gateway.reports.metrics import Metrics

Value = timedelta | float | int | str | None


@dataclass(frozen=True)
class Column:
    key: str  # the CSV header
    title: str  # the terminal and HTML header
    value: Callable[[Metrics], Value]
    share: bool = False  # a fraction, shown to people as a percentage
    brief: str = ""  # its header in the terminal's narrow table; "" leaves it out there


COLUMNS: tuple[Column, ...] = (
    Column("group", "group", lambda m: m.group, brief="GROUP"),
    Column("new_conversations", "new conversations", lambda m: m.new_conversations, brief="NEW"),
    Column("messages_in", "messages in", lambda m: m.messages_in, brief="IN"),
    Column("messages_out", "replies out", lambda m: m.messages_out, brief="OUT"),
    Column("first_response_business_median_h", "first reply, median (business)",
           lambda m: m.first_response_business.median, brief="REPLY MEDIAN"),
    Column("first_response_business_p90_h", "first reply, p90 (business)", lambda m: m.first_response_business.p90,
           brief="REPLY P90"),
    Column("first_response_wall_median_h", "first reply, median (clock)", lambda m: m.first_response_wall.median),
    Column("first_response_wall_p90_h", "first reply, p90 (clock)", lambda m: m.first_response_wall.p90),
    Column("answered", "answered", lambda m: m.first_response_wall.count),
    Column("waiting", "waiting for a first reply", lambda m: m.waiting),
    Column("resolved", "resolved", lambda m: m.resolved),
    Column("resolution_business_median_h", "resolution, median (business)", lambda m: m.resolution_business.median),
    Column("resolution_wall_median_h", "resolution, median (clock)", lambda m: m.resolution_wall.median,
           brief="RESOLVED"),
    Column("exchanges_median", "exchanges per resolved, median", lambda m: m.exchanges_median, brief="EXCH"),
    Column("exchanges_mean", "exchanges per resolved, mean", lambda m: m.exchanges_mean),
    Column("reopened", "reopened", lambda m: m.reopened),
    Column("reopened_share", "reopened share", lambda m: m.reopened_share, share=True, brief="REOPEN"),
    Column("acknowledgements", "auto-replies sent", lambda m: m.acknowledgements),
    Column("not_acknowledged", "auto-replies not sent", lambda m: m.not_acknowledged),
)


def csv_cell(value: Value) -> str:
    """Durations as hours with two decimals, fractions with four, nothing as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, timedelta):
        return f"{value.total_seconds() / 3600:.2f}"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def human(value: Value, share: bool = False) -> str:
    """A cell for people: "3h 20m", "2d 4h", "12%", "-" for nothing."""
    if value is None:
        return "-"
    if isinstance(value, timedelta):
        return duration(value)
    if share and isinstance(value, float):
        return f"{value:.0%}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def duration(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"
