"""What the acknowledgement promises, in plain words, for mail arriving at every kind of moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.autoreply.expectation import PHRASES, expect, typical
from gateway.autoreply.hours import SupportHours
from gateway.autoreply.response_time import ResponseStats
from gateway.autoreply.views import HoursView, ResponseView
from gateway.config import HoursSettings

BERLIN = ZoneInfo("Europe/Berlin")
WORKING_DAY = timedelta(hours=8)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def desk(**settings: object) -> SupportHours:
    given = {"timezone": "Europe/Berlin", **settings}
    return SupportHours.from_settings(HoursSettings(**given))  # type: ignore[arg-type]


def stats(median: timedelta, p90: timedelta | None = None) -> ResponseStats:
    return ResponseStats(median, p90 or median * 2, samples=42, measured=True)


def promised(now: datetime, median: timedelta, **settings: object) -> str:
    return expect(now, desk(**settings), stats(median))[1].expected_by


def test_mail_during_hours_expects_a_reply_later_today():
    hours_view, response = expect(berlin(2026, 1, 7, 10), desk(), stats(timedelta(hours=3), timedelta(hours=7)))
    assert hours_view == HoursView(open_now=True, closed_for="", holiday="", next_opening="", timezone="CET")
    assert response == ResponseView(typical="usually within 3 hours", expected_by="by about 13:00 CET today",
                                    measured=True, median_minutes=180, p90_minutes=420, samples=42)


def test_the_promised_time_is_rounded_up_to_the_quarter_hour():
    assert promised(berlin(2026, 1, 7, 10, 7), timedelta(hours=3)) == "by about 13:15 CET today"
    assert promised(berlin(2026, 1, 7, 10, 0), timedelta(minutes=1)) == "by about 10:15 CET today"


@pytest.mark.parametrize("now", [berlin(2026, 1, 9, 18), berlin(2026, 1, 10, 12)], ids=["friday 18:00", "saturday"])
def test_weekend_mail_expects_a_reply_on_monday_and_says_when_we_open(now):
    hours_view, response = expect(now, desk(), stats(timedelta(hours=2)))
    assert hours_view == HoursView(open_now=False, closed_for="weekend", holiday="",
                                   next_opening="Monday at 09:00 CET", timezone="CET")
    assert response.expected_by == "on Monday by about 11:00 CET"


def test_sunday_mail_says_tomorrow_rather_than_monday():
    hours_view, response = expect(berlin(2026, 1, 11, 22), desk(), stats(timedelta(hours=2)))
    assert (hours_view.closed_for, hours_view.next_opening) == ("weekend", "tomorrow at 09:00 CET")
    assert response.expected_by == "by tomorrow morning"


def test_evening_mail_with_a_short_reply_time_expects_a_reply_tomorrow_morning():
    hours_view, response = expect(berlin(2026, 1, 7, 20), desk(), stats(timedelta(hours=1)))
    assert (hours_view.closed_for, hours_view.next_opening) == ("evening", "tomorrow at 09:00 CET")
    assert response.expected_by == "by tomorrow morning"


def test_evening_mail_with_a_longer_reply_time_expects_a_reply_tomorrow_afternoon():
    assert promised(berlin(2026, 1, 7, 20), timedelta(hours=4)) == "by tomorrow afternoon"


def test_a_reply_due_tomorrow_evening_names_the_time():
    late = {day: ("09:00-20:00",) for day in ("mon", "tue", "wed", "thu", "fri")}
    assert promised(berlin(2026, 1, 7, 21), timedelta(hours=10), schedule=late) == "tomorrow by about 19:00 CET"


def test_mail_before_opening_expects_a_reply_today_and_says_we_open_today():
    hours_view, response = expect(berlin(2026, 1, 7, 6), desk(), stats(timedelta(minutes=30)))
    assert (hours_view.closed_for, hours_view.next_opening) == ("night", "today at 09:00 CET")
    assert (response.typical, response.expected_by) == ("usually within 30 minutes", "by about 09:30 CET today")


def test_holiday_mail_names_the_holiday_and_counts_from_the_next_working_day():
    hours_view, response = expect(berlin(2026, 1, 6, 11), desk(holidays_country="DE", holidays_subdivision="BY"),
                                  stats(timedelta(hours=2)))
    assert hours_view == HoursView(open_now=False, closed_for="holiday", holiday="Epiphany",
                                   next_opening="tomorrow at 09:00 CET", timezone="CET")
    assert response.expected_by == "by tomorrow morning"


def test_a_reply_time_longer_than_a_working_day_runs_over_the_weekend():
    _, response = expect(berlin(2026, 1, 8, 16), desk(), stats(timedelta(hours=10)))
    assert (response.typical, response.expected_by) == ("usually within a working day", "on Monday by about 10:00 CET")


def test_weekend_mail_before_the_spring_switch_names_the_summer_time_zone_for_monday():
    hours_view, response = expect(berlin(2026, 3, 28, 12), desk(), stats(timedelta(hours=2)))
    assert (hours_view.next_opening, hours_view.timezone) == ("Monday at 09:00 CEST", "CET")
    assert response.expected_by == "on Monday by about 11:00 CEST"


def test_a_closure_longer_than_a_week_names_the_date_as_well_as_the_weekday():
    closed = tuple((date(2026, 12, 21) + timedelta(days=n)).isoformat() for n in range(12))
    hours_view, response = expect(berlin(2026, 12, 19, 10), desk(closed_dates=closed), stats(timedelta(hours=2)))
    assert hours_view.next_opening == "Monday 4 January at 09:00 CET"
    assert response.expected_by == "on Monday 4 January by about 11:00 CET"


def test_without_enough_history_the_fallback_is_stated_and_marked_unmeasured():
    fallback = ResponseStats(timedelta(hours=4), timedelta(hours=4), samples=3, measured=False)
    _, response = expect(berlin(2026, 1, 7, 10), desk(), fallback)
    assert response == ResponseView(typical="usually within 4 hours", expected_by="by about 14:00 CET today",
                                    measured=False, median_minutes=240, p90_minutes=240, samples=3)


@pytest.mark.parametrize(("business", "says"), [
    (timedelta(0), "usually within 5 minutes"),
    (timedelta(minutes=3), "usually within 5 minutes"),
    (timedelta(minutes=12), "usually within 15 minutes"),
    (timedelta(minutes=25), "usually within 30 minutes"),
    (timedelta(minutes=40), "usually within 45 minutes"),
    (timedelta(minutes=50), "usually within an hour"),
    (timedelta(minutes=89), "usually within an hour"),
    (timedelta(minutes=100), "usually within 2 hours"),
    (timedelta(hours=3, minutes=10), "usually within 3 hours"),
    (timedelta(hours=7, minutes=40), "usually within 8 hours"),
    (timedelta(hours=8), "usually within a working day"),
    (timedelta(hours=16), "usually within 2 working days"),
    (timedelta(hours=20), "usually within 3 working days"),
])
def test_the_typical_reply_time_is_said_in_round_numbers(business, says):
    assert typical(business, WORKING_DAY, PHRASES["en"]) == says
