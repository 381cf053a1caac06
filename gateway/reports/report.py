"""One report: every section computed from the fetched rows, and its JSON form."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from gateway.autoreply.hours import SupportHours
from gateway.config import Settings
from gateway.reports.csat import Csat, fetch_surveys, summarise_csat
from gateway.reports.fetch import fetch_rows
from gateway.reports.metrics import GroupBy, Metrics, business_times, grouped_metrics
from gateway.reports.rows import AgentRow, ReportRows
from gateway.reports.sections import (AutoReplies, Bucket, KnownIssueSummary, Segment, TagCount, auto_replies,
                                      busiest_hours, first_response_histogram, known_issues, top_tags)
from gateway.reports.window import Window


@dataclass(frozen=True)
class Report:
    window: Window
    timezone: str
    channel: str | None
    by: GroupBy | None
    total: Metrics
    groups: list[Metrics]  # [total] itself when not grouped
    weeks: list[Metrics]
    first_response_histogram: list[Bucket]
    busiest_hours: list[list[int]]  # [weekday, Monday first][hour on the desk's clock]
    top_tags: list[TagCount]
    known_issues: list[KnownIssueSummary]
    segments: list[Segment]
    auto_replies: AutoReplies
    csat: Csat | None
    agents: list[AgentRow] | None


def build_report(rows: ReportRows, hours: SupportHours, window: Window, channel: str | None, by: GroupBy | None,
                 csat: Csat | None, timezone: str) -> Report:
    """Compute every section; pure, so a test can check each number against rows it wrote by hand."""
    business = business_times(rows.conversations, hours, window)

    def grouped(key: GroupBy | None) -> list[Metrics]:
        split = rows.by_group if key in (GroupBy.TAG, GroupBy.CHANNEL) else None
        messages = split if split is not None else rows.messages
        return grouped_metrics(rows.conversations, messages, rows.skipped, key, hours, window, business)

    total, weeks = grouped(None)[0], grouped(GroupBy.WEEK)
    groups = [total] if by is None else weeks if by is GroupBy.WEEK else grouped(by)
    issues, segments = known_issues(rows.conversations, rows.known_issues)
    return Report(window, timezone, channel, by, total, groups, weeks, first_response_histogram(business),
                  busiest_hours(rows.messages, hours), top_tags(rows.conversations), issues, segments,
                  auto_replies(rows.messages, rows.skipped, rows.failed_acknowledgements), csat, rows.agents)


def make_report(tx: Session, settings: Settings, window: Window, channel: str | None = None,
                by: GroupBy | None = None, by_agent: bool = False) -> Report:
    """Read the rows for this window and compute the report."""
    hours = SupportHours.from_settings(settings.hours)
    rows = fetch_rows(tx, window, channel, settings.is_partner, hours.zone,
                      split=by in (GroupBy.TAG, GroupBy.CHANNEL), by_agent=by_agent)
    csat = summarise_csat(fetch_surveys(tx, window, channel))
    return build_report(rows, hours, window, channel, by, csat, settings.hours.timezone)


def hours_of(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds() / 3600, 2)


def to_json(report: Report) -> dict[str, object]:
    """Plain JSON values: times as ISO 8601, durations as hours (two decimals), shares as fractions."""
    def plain(value: object) -> object:
        if isinstance(value, timedelta):
            return hours_of(value)
        if isinstance(value, datetime):
            return value.isoformat()
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, float):
            return round(value, 4)
        return value
    return {"durations_in": "hours", **plain(report)}  # type: ignore[dict-item]
