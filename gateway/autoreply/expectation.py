"""What the acknowledgement promises: whether we are open, and when a person will most likely reply."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.autoreply.hours import SupportHours
from gateway.autoreply.response_time import ResponseStats
from gateway.autoreply.views import HoursView, ResponseView

# "usually within N minutes" rounds up to the first of these; above the last it says an hour.
MINUTE_STEPS = (5, 10, 15, 20, 30, 45)
QUARTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Phrases:
    """Every word `expect` writes, in one language; placeholders are str.format fields."""

    weekdays: tuple[str, ...]  # Monday first.
    months: tuple[str, ...]  # January first.
    date: str  # {weekday} {day} {month}: a day more than six days away.
    within_minutes: str
    within_hour: str
    within_hours: str
    within_day: str
    within_days: str
    by_today: str
    by_tomorrow_morning: str
    by_tomorrow_afternoon: str
    by_tomorrow_at: str
    by_day: str
    opens_today: str
    opens_tomorrow: str
    opens_day: str


PHRASES: dict[str, Phrases] = {
    "en": Phrases(
        weekdays=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        months=("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December"),
        date="{weekday} {day} {month}",
        within_minutes="usually within {n} minutes",
        within_hour="usually within an hour",
        within_hours="usually within {n} hours",
        within_day="usually within a working day",
        within_days="usually within {n} working days",
        by_today="by about {time} {zone} today",
        by_tomorrow_morning="by tomorrow morning",
        by_tomorrow_afternoon="by tomorrow afternoon",
        by_tomorrow_at="tomorrow by about {time} {zone}",
        by_day="on {day} by about {time} {zone}",
        opens_today="today at {time} {zone}",
        opens_tomorrow="tomorrow at {time} {zone}",
        opens_day="{day} at {time} {zone}",
    ),
    "de": Phrases(
        weekdays=("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
        months=("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
                "November", "Dezember"),
        date="{weekday}, {day}. {month}",
        within_minutes="meist innerhalb von {n} Minuten",
        within_hour="meist innerhalb einer Stunde",
        within_hours="meist innerhalb von {n} Stunden",
        within_day="meist innerhalb eines Arbeitstages",
        within_days="meist innerhalb von {n} Arbeitstagen",
        by_today="heute bis etwa {time} Uhr {zone}",
        by_tomorrow_morning="bis morgen Vormittag",
        by_tomorrow_afternoon="bis morgen Nachmittag",
        by_tomorrow_at="morgen bis etwa {time} Uhr {zone}",
        by_day="am {day} bis etwa {time} Uhr {zone}",
        opens_today="heute um {time} Uhr {zone}",
        opens_tomorrow="morgen um {time} Uhr {zone}",
        opens_day="{day} um {time} Uhr {zone}",
    ),
}


def expect(now: datetime, hours: SupportHours, stats: ResponseStats, *,
           language: str = "en") -> tuple[HoursView, ResponseView]:
    """The hours and reply-time values for the acknowledgement of a conversation opened at `now`."""
    words = PHRASES.get(language, PHRASES["en"])
    open_now = hours.is_open(now)
    closed_for, holiday = hours.closed_reason(now)
    opening = "" if open_now else _opening(now, hours.next_opening(now), hours, words)
    hours_view = HoursView(open_now, closed_for, holiday, opening, hours.abbreviation(now))
    due = hours.add(now, stats.median)
    response_view = ResponseView(typical(stats.median, hours.typical_day, words),
                                 _expected_by(now, due, hours, words), stats.measured,
                                 _minutes(stats.median), _minutes(stats.p90), stats.samples)
    return hours_view, response_view


def typical(business: timedelta, working_day: timedelta, words: Phrases = PHRASES["en"]) -> str:
    """A reply time in round numbers: 5/10/15/20/30/45 minutes, whole hours, or working days."""
    if business >= working_day:
        days = max(1, _half_up(business / working_day))
        return words.within_day if days == 1 else words.within_days.format(n=days)
    minutes = business.total_seconds() / 60
    step = next((step for step in MINUTE_STEPS if minutes <= step), None)
    if step is not None:
        return words.within_minutes.format(n=step)
    count = max(1, _half_up(minutes / 60))
    return words.within_hour if count == 1 else words.within_hours.format(n=count)


def _expected_by(now: datetime, due: datetime, hours: SupportHours, words: Phrases) -> str:
    # Round up to the quarter hour: a promise of "about 15:00" should not be broken at 14:58.
    due = datetime.fromtimestamp(math.ceil(due.timestamp() / QUARTER.total_seconds()) * QUARTER.total_seconds(), UTC)
    local = hours.local(due)
    days = (local.date() - hours.local(now).date()).days
    clock = f"{local:%H:%M}"
    zone = hours.abbreviation(due)
    if days <= 0:
        return words.by_today.format(time=clock, zone=zone)
    if days == 1 and local.hour < 12:
        return words.by_tomorrow_morning
    if days == 1:
        return words.by_tomorrow_afternoon if local.hour < 18 else words.by_tomorrow_at.format(time=clock, zone=zone)
    return words.by_day.format(day=_day(now, due, hours, words), time=clock, zone=zone)


def check_wording(languages: tuple[str, ...]) -> None:
    """Refuse a language we have no phrases for: an acknowledgement.fr must not say "usually within 3 hours"."""
    if not languages:
        raise ValueError("[autoreply] languages: empty; list at least one, e.g. [\"en\"]")
    missing = [code for code in languages if code.lower() not in PHRASES]
    if missing:
        raise ValueError(f"[autoreply] languages: {missing[0]!r} has no reply-time wording yet; "
                         f"supported: {', '.join(sorted(PHRASES))}")


def moment(now: datetime, at: datetime, hours: SupportHours, language: str = "en") -> str:
    """A moment as a customer reads it: "today at 18:00 CET", "Monday at 09:00 CET"."""
    return _opening(now, at, hours, PHRASES.get(language, PHRASES["en"]))


def _opening(now: datetime, opening: datetime, hours: SupportHours, words: Phrases) -> str:
    local = hours.local(opening)
    days = (local.date() - hours.local(now).date()).days
    clock, zone = f"{local:%H:%M}", hours.abbreviation(opening)
    if days <= 0:
        return words.opens_today.format(time=clock, zone=zone)
    if days == 1:
        return words.opens_tomorrow.format(time=clock, zone=zone)
    return words.opens_day.format(day=_day(now, opening, hours, words), time=clock, zone=zone)


def _day(now: datetime, at: datetime, hours: SupportHours, words: Phrases) -> str:
    """The weekday's name, with the date once the weekday alone would be ambiguous."""
    local = hours.local(at)
    weekday = words.weekdays[local.weekday()]
    if (local.date() - hours.local(now).date()).days < 7:
        return weekday
    return words.date.format(weekday=weekday, day=local.day, month=words.months[local.month - 1])


def _minutes(duration: timedelta) -> int:
    return _half_up(duration.total_seconds() / 60)


def _half_up(value: float) -> int:
    return math.floor(value + 0.5)
