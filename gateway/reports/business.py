"""Business time for many spans at once: open time summed per day once, so each span costs two lookups."""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime, time, timedelta

from gateway.autoreply.hours import SupportHours

DAY = timedelta(days=1)


class BusinessClock:
    """What SupportHours.between gives, in seconds, for spans that start on or after the origin day."""

    def __init__(self, hours: SupportHours, origin: datetime) -> None:
        self.hours = hours
        first = hours.local(origin).date()
        self._days = [first]
        self._midnights = [datetime.combine(first, time(), hours.zone).timestamp()]
        self._before = [0.0]  # open seconds from the origin day's midnight to each day's midnight
        self._open: list[list[tuple[float, float]]] = []  # each day's open intervals, as timestamps

    def between(self, start: datetime, end: datetime) -> float:
        if start.timestamp() < self._midnights[0]:
            return self.hours.between(start, end).total_seconds()
        return max(self._elapsed(end.timestamp()) - self._elapsed(start.timestamp()), 0.0)

    def _elapsed(self, at: float) -> float:
        while self._midnights[-1] <= at:
            self._add_day()
        index = bisect_right(self._midnights, at) - 1
        return self._before[index] + sum(min(end, at) - start for start, end in self._open[index] if start < at)

    def _add_day(self) -> None:
        day = self._days[-1]
        opened = [(s.timestamp(), e.timestamp()) for s, e in self.hours.open_intervals(day)]
        self._open.append(opened)
        self._before.append(self._before[-1] + sum(e - s for s, e in opened))
        self._days.append(day + DAY)
        self._midnights.append(datetime.combine(day + DAY, time(), self.hours.zone).astimezone(UTC).timestamp())
