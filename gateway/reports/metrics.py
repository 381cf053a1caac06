"""The main table of a report: one row of measures per group (all, a channel, a tag or a week)."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from gateway.autoreply.hours import SupportHours
from gateway.models import Direction, Status
from gateway.reports.business import BusinessClock
from gateway.reports.rows import ConversationRow, MessageCount, SkippedAcknowledgement
from gateway.reports.window import Window

ALL = "all"
UNTAGGED = "(untagged)"
# Machine mail that opened nothing still counts, in a group of its own.
NO_CONVERSATION = "(no conversation)"
Row = TypeVar("Row")


class GroupBy(StrEnum):
    TAG = "tag"
    CHANNEL = "channel"
    WEEK = "week"


@dataclass(frozen=True)
class Spread:
    """Median and 90th percentile (nearest rank) of some durations; None for both when there were none."""

    median: timedelta | None
    p90: timedelta | None
    count: int


def spread(seconds: Iterable[float]) -> Spread:
    """As response_time.summarise measures the promise in the acknowledgement, over plain seconds (fast to sort)."""
    ordered = sorted(seconds)
    count = len(ordered)
    if not count:
        return Spread(None, None, 0)
    middle = count // 2
    median = ordered[middle] if count % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return Spread(timedelta(seconds=median), timedelta(seconds=ordered[math.ceil(0.9 * count) - 1]), count)


@dataclass(frozen=True)
class Metrics:
    """The measures of one group; durations count from the customer's first message."""

    group: str
    new_conversations: int
    messages_in: int  # from customers
    messages_out: int  # agents' replies to customers
    first_response_business: Spread
    first_response_wall: Spread
    waiting: int  # opened in the window, not answered and not resolved yet
    resolved: int
    resolution_business: Spread
    resolution_wall: Spread
    exchanges_median: float | None
    exchanges_mean: float | None
    reopened: int
    reopened_share: float | None  # of the conversations ever resolved
    acknowledgements: int
    not_acknowledged: int


def week_of(at: datetime, hours: SupportHours) -> str:
    """The Monday (on the desk's calendar) that starts the week of `at`, e.g. "2026-03-02"."""
    day = hours.local(at).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def weeks_in(window: Window, hours: SupportHours) -> list[str]:
    """Every week the window touches, so a quiet week shows as zeros rather than vanishing."""
    first, last = week_of(window.since, hours), week_of(window.until - timedelta(microseconds=1), hours)
    found, monday = [], datetime.fromisoformat(first).date()
    while monday.isoformat() <= last:
        found.append(monday.isoformat())
        monday += timedelta(days=7)
    return found


def keys_for(by: GroupBy | None, hours: SupportHours) -> Callable[[datetime | None, str, tuple[str, ...]], list[str]]:
    """Which groups a row belongs to, from its time, channel and tags (a conversation counts in each of its tags)."""
    if by is GroupBy.TAG:
        return lambda _at, channel, tags: list(tags) or [UNTAGGED if channel else NO_CONVERSATION]
    if by is GroupBy.CHANNEL:
        return lambda _at, channel, _tags: [channel or NO_CONVERSATION]
    if by is GroupBy.WEEK:
        return lambda at, _channel, _tags: [week_of(at, hours)] if at else []
    return lambda *_: [ALL]


def _split(rows: Iterable[Row], keys: Callable[[Row], list[str]]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        for key in keys(row):
            groups[key].append(row)
    return groups


BusinessTimes = dict[int, tuple[float | None, float | None]]  # seconds to first reply, to resolution


def business_times(conversations: Iterable[ConversationRow], hours: SupportHours, window: Window) -> BusinessTimes:
    """Each conversation's first reply and resolution in business time, computed once for every section."""
    clock = BusinessClock(hours, window.since)
    return {c.id: (clock.between(c.created_at, c.first_response_at) if c.first_response_at else None,
                   clock.between(c.created_at, c.resolved_at) if c.resolved_at else None) for c in conversations}


def measure(group: str, conversations: Sequence[ConversationRow], messages: Sequence[MessageCount],
            skipped: Sequence[SkippedAcknowledgement], business: BusinessTimes) -> Metrics:
    """The measures of one group's rows."""
    answered = [c for c in conversations if c.first_response_at is not None]
    resolved = [c for c in conversations if c.status == Status.RESOLVED and c.resolved_at is not None]
    ever_resolved = sum(1 for c in conversations if c.status == Status.RESOLVED or c.reopened)
    reopened = sum(1 for c in conversations if c.reopened)
    exchanges = [c.exchanges for c in resolved]

    def count(direction: str, kind: str) -> int:
        return sum(m.count for m in messages if m.direction == direction and m.kind == kind)

    return Metrics(
        group=group, new_conversations=len(conversations),
        messages_in=count(Direction.IN, "customer"), messages_out=count(Direction.OUT, "agent_reply"),
        first_response_business=spread(business[c.id][0] for c in answered),  # type: ignore[misc]
        first_response_wall=spread((c.first_response_at - c.created_at).total_seconds()  # type: ignore[operator]
                                   for c in answered),
        waiting=sum(1 for c in conversations if c.first_response_at is None and c.status != Status.RESOLVED),
        resolved=len(resolved),
        resolution_business=spread(business[c.id][1] for c in resolved),  # type: ignore[misc]
        resolution_wall=spread((c.resolved_at - c.created_at).total_seconds()  # type: ignore[operator]
                               for c in resolved),
        exchanges_median=float(statistics.median(exchanges)) if exchanges else None,
        exchanges_mean=statistics.fmean(exchanges) if exchanges else None,
        reopened=reopened, reopened_share=reopened / ever_resolved if ever_resolved else None,
        acknowledgements=count(Direction.OUT, "acknowledgement"), not_acknowledged=len(skipped))


def grouped_metrics(conversations: Sequence[ConversationRow], messages: Sequence[MessageCount],
                    skipped: Sequence[SkippedAcknowledgement], by: GroupBy | None, hours: SupportHours,
                    window: Window, business: BusinessTimes) -> list[Metrics]:
    """One Metrics per group, in order (weeks by date, others by most new conversations)."""
    keys = keys_for(by, hours)
    by_conversation = _split(conversations, lambda c: keys(c.created_at, c.channel, c.tags))
    by_message = _split(messages, lambda m: keys(m.slot, m.channel, m.tags))
    by_skip = _split(skipped, lambda s: keys(s.at, s.channel, s.tags))
    names = set(by_conversation) | set(by_message) | set(by_skip)
    if by is GroupBy.WEEK:
        names |= set(weeks_in(window, hours))
    elif by is None:
        names = {ALL}
    rows = [measure(name, by_conversation.get(name, []), by_message.get(name, []), by_skip.get(name, []),
                    business) for name in names]
    if by is GroupBy.WEEK:
        return sorted(rows, key=lambda m: m.group)
    return sorted(rows, key=lambda m: (-m.new_conversations, -m.messages_in, m.group))
