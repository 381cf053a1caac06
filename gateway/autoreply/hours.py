"""When people are working: a weekly schedule in local wall-clock time, public holidays and closed dates."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


if TYPE_CHECKING:
    from gateway.config import HoursSettings

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A search for open time gives up after this many days without any, so a year of closed dates cannot loop for ever.
SEARCH_DAYS = 400
_SPAN = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")

Span = tuple[int, int]  # Minutes after local midnight, [start, end); end may be 1440 (24:00).
Interval = tuple[datetime, datetime]  # UTC, [open, close).


@dataclass(frozen=True)
class SupportHours:
    """The open hours of one support desk; every datetime in and out is aware UTC."""

    zone: ZoneInfo
    week: tuple[tuple[Span, ...], ...]  # Monday first.
    closed_dates: frozenset[date] = frozenset()
    # Public holidays, date -> name; the holidays package fills in each year when first asked.
    public: Mapping[date, str] = field(default_factory=dict, compare=False)
    # Each local day's open intervals, computed once: a report measures a year of conversations day by day.
    _days: dict[date, list[Interval]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: HoursSettings) -> SupportHours:
        """Check and compile [hours]; a mistake raises ValueError with one line saying how to fix it."""
        return cls(_zone(settings.timezone), _week(settings.schedule), _closed_dates(settings.closed_dates),
                   _public_holidays(settings.holidays_country, settings.holidays_subdivision))

    def is_open(self, at: datetime) -> bool:
        """True when `at` falls inside an opening span of a day that is not a holiday or closed date."""
        at = _utc(at)
        day = self.local(at).date()
        return any(start <= at < end for d in (day - timedelta(days=1), day) for start, end in self._intervals(d))

    def closed_reason(self, at: datetime) -> tuple[str, str]:
        """Why we are closed ("weekend", "holiday", "evening", "night", "closed") and the holiday's name;
        ("", "") while open."""
        if self.is_open(at):
            return "", ""
        local = self.local(at)
        day, weekday = local.date(), local.weekday()
        spans = self.week[weekday]
        weekend = not self.week[5] and not self.week[6]
        if weekend and weekday >= 5:
            return "weekend", ""
        if not spans:
            return "closed", ""
        if day in self.public:
            return "holiday", self.public[day]
        if day in self.closed_dates:
            return "closed", ""
        minute = local.hour * 60 + local.minute
        if minute >= spans[-1][1]:
            return ("weekend" if weekend and weekday == 4 else "evening"), ""
        if minute < spans[0][0]:
            return "night", ""
        return "closed", ""

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself when open, else the moment we next open."""
        at = _utc(at)
        return max(next(self._open_from(at))[0], at)

    def add(self, at: datetime, business: timedelta) -> datetime:
        """The moment `business` open time after `at`; counting starts at the next opening when closed."""
        if business < timedelta(0):
            raise ValueError(f"business time must not be negative, got {business}")
        at, left = _utc(at), business
        for start, end in self._open_from(at):
            start = max(start, at)
            if start + left <= end:
                return start + left
            left -= end - start
        raise AssertionError("unreachable: _open_from raises when it finds nothing")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The open time that passed from `start` to `end`; zero when end is not after start."""
        start, end = _utc(start), _utc(end)
        total, day, last = timedelta(0), self.local(start).date() - timedelta(days=1), self.local(end).date()
        while start < end and day <= last:
            total += sum((min(c, end) - max(o, start) for o, c in self._intervals(day) if o < end and c > start),
                         timedelta(0))
            day += timedelta(days=1)
        return total

    @property
    def typical_day(self) -> timedelta:
        """The open time of a usual working day: the median over the weekdays that have hours."""
        lengths = [sum(end - start for start, end in spans) for spans in self.week if spans]
        return timedelta(minutes=statistics.median_low(lengths))

    def local(self, at: datetime) -> datetime:
        """`at` on the desk's wall clock."""
        return _utc(at).astimezone(self.zone)

    def abbreviation(self, at: datetime) -> str:
        """The zone's short name at `at` for customers ("CET", "CEST", "EST"), or "UTC-03" where it has none."""
        local = self.local(at)
        name = local.tzname() or ""
        if name and name[0] not in "+-":
            return name
        offset = local.utcoffset() or timedelta(0)
        sign, minutes = ("-" if offset < timedelta(0) else "+"), abs(int(offset.total_seconds())) // 60
        return f"UTC{sign}{minutes // 60:02d}" + (f":{minutes % 60:02d}" if minutes % 60 else "")

    def open_intervals(self, day: date) -> list[Interval]:
        """One local day's open intervals in UTC, for callers summing many spans; shared, so read them only."""
        return self._intervals(day)

    def _intervals(self, day: date) -> list[Interval]:
        """The open intervals of one local day in UTC; none on a holiday or closed date."""
        found = self._days.get(day)
        if found is not None:
            return found
        if day in self.closed_dates or day in self.public:
            found = []
        else:
            midnight = datetime.combine(day, time(), self.zone)
            # Adding to an aware datetime moves the wall clock, so 09:00 stays 09:00 on the day DST changes.
            spans = [((midnight + timedelta(minutes=s)).astimezone(UTC),
                      (midnight + timedelta(minutes=e)).astimezone(UTC)) for s, e in self.week[day.weekday()]]
            found = [(start, end) for start, end in spans if start < end]
        self._days[day] = found
        return found

    def _open_from(self, at: datetime) -> Iterator[Interval]:
        """Open intervals that end after `at`, in order; ValueError after SEARCH_DAYS days without any."""
        day, idle = self.local(at).date() - timedelta(days=1), 0
        while idle < SEARCH_DAYS:
            found = [(start, end) for start, end in self._intervals(day) if end > at]
            idle = 0 if found else idle + 1
            yield from found
            day += timedelta(days=1)
        raise ValueError(f"no opening hours within {SEARCH_DAYS} days after {at:%Y-%m-%d}; check [hours] closed_dates")


def check_hours(settings: HoursSettings) -> None:
    """Raise ValueError (one line, with the fix) when [hours] cannot be used."""
    SupportHours.from_settings(settings)


def _utc(at: datetime) -> datetime:
    if at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone; pass an aware UTC datetime")
    return at.astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"timezone: {name!r} is not an IANA time zone; "
                         "use a name like \"Europe/Berlin\" or \"America/New_York\"") from None


def _week(schedule: Mapping[str, Sequence[str] | str]) -> tuple[tuple[Span, ...], ...]:
    days = {day.strip().lower(): spans for day, spans in schedule.items()}
    unknown = sorted(set(days) - set(DAYS))
    if unknown:
        raise ValueError(f"schedule: {unknown[0]!r} is not a day; name days mon, tue, wed, thu, fri, sat or sun")
    week = tuple(_spans(day, days.get(day, ())) for day in DAYS)
    if not any(week):
        raise ValueError("schedule: no day has opening hours; give at least one, like mon = \"09:00-17:00\"")
    return week


def _spans(day: str, texts: Sequence[str] | str) -> tuple[Span, ...]:
    spans = sorted(_span(day, text) for text in ((texts,) if isinstance(texts, str) else texts))
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        if start < end:
            raise ValueError(f"schedule {day}: two spans overlap; write them in order without overlap, "
                             "like [\"09:00-12:00\", \"13:00-17:00\"]")
    return tuple(spans)


def _span(day: str, text: str) -> Span:
    match = _SPAN.fullmatch(str(text).strip())
    h1, m1, h2, m2 = (int(g) for g in match.groups()) if match else (0, 0, 0, 0)
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if not match or h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or start >= end:
        raise ValueError(f"schedule {day}: {text!r} is not a span like \"09:00-17:00\" (24-hour clock, start "
                         "before end; split a span that crosses midnight into \"22:00-24:00\" and \"00:00-06:00\")")
    return start, end


def _closed_dates(texts: Sequence[str]) -> frozenset[date]:
    dates = set()
    for text in texts:
        try:
            dates.add(date.fromisoformat(str(text).strip()))
        except ValueError:
            raise ValueError(f"closed_dates: {text!r} is not a date like \"2026-12-24\"") from None
    return frozenset(dates)


def _public_holidays(country: str, subdivision: str) -> Mapping[date, str]:
    country, subdivision = country.strip().upper(), subdivision.strip()
    if not country:
        if subdivision:
            raise ValueError("holidays_subdivision: set holidays_country too, like \"DE\" with subdivision \"BY\"")
        return {}
    import holidays  # Here: a gateway without a holiday country does not pay for its data.

    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(f"holidays_country: {country!r} is not a country the holidays package knows; "
                         "use an ISO 3166 code like \"DE\", \"US\" or \"GB\", or \"\" for none")
    subdivisions = {s.upper(): s for s in supported[country]}
    if subdivision and subdivision.upper() not in subdivisions:
        raise ValueError(f"holidays_subdivision: {subdivision!r} is not a subdivision of {country}; "
                         f"use one of {', '.join(supported[country])}, or \"\" for the whole country")
    subdiv = subdivisions.get(subdivision.upper()) if subdivision else None
    calendar = holidays.country_holidays(country, subdiv=subdiv)
    # Names go into English mail: ask for English where the country's own language is another.
    if not (calendar.default_language or "en").startswith("en"):
        english = [lang for lang in ("en_US", "en_GB") if lang in calendar.supported_languages]
        if english:
            calendar = holidays.country_holidays(country, subdiv=subdiv, language=english[0])
    return calendar
