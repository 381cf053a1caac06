"""Support hours: open or closed and why, the next opening, and counting only open time, across DST and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.autoreply.hours import SupportHours, check_hours
from gateway.config import HoursSettings, load_config
from gateway.errors import ConfigError

BERLIN = ZoneInfo("Europe/Berlin")
LUNCH_BREAK = {day: ("09:00-12:00", "13:00-17:00") for day in ("mon", "tue", "wed", "thu", "fri")}
EVERY_DAY = {day: ("09:00-17:00",) for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Berlin wall-clock time as the aware UTC datetime the gateway passes around."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def hours(**settings: object) -> SupportHours:
    given = {"timezone": "Europe/Berlin", **settings}
    return SupportHours.from_settings(HoursSettings(**given))  # type: ignore[arg-type]


# 2026-01-05 is a Monday; 2026-01-09 a Friday.

def test_a_weekday_is_open_from_the_opening_minute_until_just_before_closing():
    desk = hours()
    assert desk.is_open(berlin(2026, 1, 7, 9, 0))
    assert desk.is_open(berlin(2026, 1, 7, 16, 59))
    assert not desk.is_open(berlin(2026, 1, 7, 17, 0))
    assert desk.closed_reason(berlin(2026, 1, 7, 12)) == ("", "")


def test_a_weekday_after_closing_is_evening_and_before_opening_is_night():
    desk = hours()
    assert desk.closed_reason(berlin(2026, 1, 7, 19, 30)) == ("evening", "")
    assert desk.closed_reason(berlin(2026, 1, 7, 23, 59)) == ("evening", "")
    assert desk.closed_reason(berlin(2026, 1, 8, 6, 15)) == ("night", "")


@pytest.mark.parametrize("at", [berlin(2026, 1, 9, 18), berlin(2026, 1, 10, 12), berlin(2026, 1, 11, 23)],
                         ids=["friday 18:00", "saturday", "sunday"])
def test_friday_evening_saturday_and_sunday_are_the_weekend_and_we_open_on_monday(at):
    desk = hours()
    assert not desk.is_open(at)
    assert desk.closed_reason(at) == ("weekend", "")
    assert desk.next_opening(at) == berlin(2026, 1, 12, 9) == datetime(2026, 1, 12, 8, tzinfo=UTC)


def test_a_saturday_is_not_the_weekend_when_saturday_has_hours():
    desk = hours(schedule={**EVERY_DAY, "sun": ()})
    assert desk.closed_reason(berlin(2026, 1, 10, 18)) == ("evening", "")
    assert desk.closed_reason(berlin(2026, 1, 11, 12)) == ("closed", "")


def test_a_lunch_break_is_closed_and_its_hour_is_not_counted():
    desk = hours(schedule=LUNCH_BREAK)
    assert not desk.is_open(berlin(2026, 1, 7, 12, 30))
    assert desk.closed_reason(berlin(2026, 1, 7, 12, 30)) == ("closed", "")
    assert desk.next_opening(berlin(2026, 1, 7, 12, 30)) == berlin(2026, 1, 7, 13)
    assert desk.add(berlin(2026, 1, 7, 11, 30), timedelta(hours=1)) == berlin(2026, 1, 7, 13, 30)
    assert desk.between(berlin(2026, 1, 7, 8), berlin(2026, 1, 7, 18)) == timedelta(hours=7)
    assert desk.typical_day == timedelta(hours=7)


def test_a_public_holiday_from_the_package_is_closed_and_named_in_english():
    desk = hours(holidays_country="DE", holidays_subdivision="BY")
    epiphany = berlin(2026, 1, 6, 11)
    assert not desk.is_open(epiphany)
    assert desk.closed_reason(epiphany) == ("holiday", "Epiphany")
    assert desk.next_opening(epiphany) == berlin(2026, 1, 7, 9)
    assert desk.is_open(berlin(2026, 1, 6, 11) + timedelta(days=1))


def test_a_holiday_of_one_subdivision_is_a_working_day_elsewhere_in_the_country():
    assert hours(holidays_country="DE", holidays_subdivision="BE").is_open(berlin(2026, 1, 6, 11))


def test_an_observed_us_holiday_closes_the_friday_before_independence_day():
    desk = SupportHours.from_settings(HoursSettings(timezone="America/New_York", holidays_country="US"))
    friday = datetime(2026, 7, 3, 15, tzinfo=UTC)  # 11:00 in New York
    assert desk.closed_reason(friday) == ("holiday", "Independence Day (observed)")
    assert desk.next_opening(friday) == datetime(2026, 7, 6, 13, tzinfo=UTC)  # Monday 09:00 EDT


def test_an_explicit_closed_date_is_closed_without_a_holiday_name():
    desk = hours(closed_dates=("2026-12-24",))
    assert not desk.is_open(berlin(2026, 12, 24, 10))
    assert desk.closed_reason(berlin(2026, 12, 24, 10)) == ("closed", "")
    assert desk.next_opening(berlin(2026, 12, 24, 10)) == berlin(2026, 12, 25, 9)


def test_the_weekend_is_the_reason_even_when_a_holiday_falls_on_it():
    desk = hours(holidays_country="DE", closed_dates=("2026-01-10",))
    assert desk.closed_reason(berlin(2026, 1, 10, 10)) == ("weekend", "")


def test_next_opening_is_the_moment_itself_while_open():
    at = berlin(2026, 1, 7, 10, 17)
    assert hours().next_opening(at) == at


def test_three_business_hours_from_friday_afternoon_end_on_monday_morning():
    assert hours().add(berlin(2026, 1, 9, 16), timedelta(hours=3)) == berlin(2026, 1, 12, 11)


def test_adding_while_closed_counts_from_the_next_opening():
    desk = hours()
    assert desk.add(berlin(2026, 1, 7, 20), timedelta(hours=2)) == berlin(2026, 1, 8, 11)
    assert desk.add(berlin(2026, 1, 7, 20), timedelta(0)) == berlin(2026, 1, 8, 9)
    assert desk.add(berlin(2026, 1, 7, 10), timedelta(0)) == berlin(2026, 1, 7, 10)


def test_adding_up_to_closing_time_ends_at_closing_time_not_the_next_morning():
    assert hours().add(berlin(2026, 1, 7, 15), timedelta(hours=2)) == berlin(2026, 1, 7, 17)


def test_adding_skips_a_holiday():
    desk = hours(holidays_country="DE", holidays_subdivision="BY")
    assert desk.add(berlin(2026, 1, 5, 16), timedelta(hours=2)) == berlin(2026, 1, 7, 10)


def test_a_negative_business_time_is_refused():
    with pytest.raises(ValueError, match="negative"):
        hours().add(berlin(2026, 1, 7, 10), timedelta(minutes=-1))


def test_between_counts_only_open_time_over_a_weekend():
    desk = hours()
    assert desk.between(berlin(2026, 1, 9, 15), berlin(2026, 1, 12, 10)) == timedelta(hours=3)
    assert desk.between(berlin(2026, 1, 10, 10), berlin(2026, 1, 11, 10)) == timedelta(0)
    assert desk.between(berlin(2026, 1, 12, 10), berlin(2026, 1, 9, 15)) == timedelta(0)
    assert desk.between(berlin(2026, 1, 5), berlin(2026, 1, 19)) == timedelta(hours=80)


def test_between_undoes_add():
    desk = hours(schedule=LUNCH_BREAK, holidays_country="DE")
    start = berlin(2026, 3, 26, 16, 40)
    for business in (timedelta(minutes=5), timedelta(hours=3), timedelta(hours=30)):
        assert desk.between(start, desk.add(start, business)) == business


def test_opening_stays_at_0900_local_across_the_spring_dst_switch():
    desk = hours()
    # Friday 27 March 2026 is CET (UTC+1); Monday 30 March is CEST (UTC+2).
    assert desk.next_opening(berlin(2026, 3, 27, 18)) == datetime(2026, 3, 30, 7, tzinfo=UTC)
    assert desk.add(datetime(2026, 3, 27, 15, tzinfo=UTC), timedelta(hours=2)) == datetime(2026, 3, 30, 8, tzinfo=UTC)
    seven_days = hours(schedule=EVERY_DAY)
    assert seven_days.next_opening(datetime(2026, 3, 28, 20, tzinfo=UTC)) == datetime(2026, 3, 29, 7, tzinfo=UTC)
    assert seven_days.next_opening(datetime(2026, 3, 27, 20, tzinfo=UTC)) == datetime(2026, 3, 28, 8, tzinfo=UTC)


def test_opening_stays_at_0900_local_across_the_autumn_dst_switch():
    desk = hours()
    # Friday 23 October 2026 is CEST (UTC+2); Monday 26 October is CET (UTC+1).
    assert desk.next_opening(berlin(2026, 10, 23, 18)) == datetime(2026, 10, 26, 8, tzinfo=UTC)
    assert desk.add(datetime(2026, 10, 23, 14, tzinfo=UTC), timedelta(hours=2)) == datetime(2026, 10, 26, 9, tzinfo=UTC)
    seven_days = hours(schedule=EVERY_DAY)
    assert seven_days.next_opening(datetime(2026, 10, 24, 20, tzinfo=UTC)) == datetime(2026, 10, 25, 8, tzinfo=UTC)


def test_a_day_open_around_the_clock_has_23_and_25_hours_on_the_switch_days():
    desk = hours(schedule={"sun": ("00:00-24:00",)})
    assert desk.between(berlin(2026, 3, 29), berlin(2026, 3, 30)) == timedelta(hours=23)
    assert desk.between(berlin(2026, 10, 25), berlin(2026, 10, 26)) == timedelta(hours=25)
    assert desk.add(berlin(2026, 3, 29), timedelta(hours=23)) == berlin(2026, 3, 30)


def test_a_year_of_closed_days_ends_the_search_with_an_error_instead_of_a_loop():
    mondays = tuple((date(2026, 1, 5) + timedelta(weeks=n)).isoformat() for n in range(70))
    desk = hours(schedule={"mon": ("09:00-17:00",)}, closed_dates=mondays)
    with pytest.raises(ValueError, match="no opening hours within 400 days"):
        desk.next_opening(berlin(2026, 1, 5, 10))


def test_the_zone_abbreviation_shown_to_customers_follows_dst_and_spells_out_bare_offsets():
    assert hours().abbreviation(berlin(2026, 1, 7, 10)) == "CET"
    assert hours().abbreviation(berlin(2026, 7, 7, 10)) == "CEST"
    assert hours(timezone="America/Sao_Paulo").abbreviation(berlin(2026, 7, 7, 10)) == "UTC-03"
    assert hours(timezone="Asia/Kolkata").abbreviation(berlin(2026, 7, 7, 10)) == "IST"
    assert hours(timezone="UTC").abbreviation(berlin(2026, 7, 7, 10)) == "UTC"


def test_a_datetime_without_a_zone_is_refused():
    with pytest.raises(ValueError, match="no time zone"):
        hours().is_open(datetime(2026, 1, 7, 10))


def test_days_and_subdivisions_are_read_in_any_case():
    desk = hours(schedule={"MON": ("09:00-17:00",)}, holidays_country="de", holidays_subdivision="by")
    assert desk.is_open(berlin(2026, 1, 5, 10))


@pytest.mark.parametrize(("section", "says"), [
    ('timezone = "Europe/Berln"', "[hours] timezone: 'Europe/Berln' is not an IANA time zone"),
    ('timezone = "Europe"', "[hours] timezone: 'Europe' is not an IANA time zone"),
    ('schedule = { mon = "9-5" }', "[hours] schedule mon: '9-5' is not a span like \"09:00-17:00\""),
    ('schedule = { mon = "17:00-09:00" }', "split a span that crosses midnight"),
    ('schedule = { mon = ["09:00-13:00", "12:00-17:00"] }', "[hours] schedule mon: two spans overlap"),
    ('schedule = { monday = "09:00-17:00" }', "[hours] schedule: 'monday' is not a day; name days mon, tue"),
    ("schedule = {}", "[hours] schedule: no day has opening hours"),
    ('holidays_country = "XX"', "[hours] holidays_country: 'XX' is not a country the holidays package knows"),
    ('holidays_country = "DE"\nholidays_subdivision = "ZZ"', "[hours] holidays_subdivision: 'ZZ' is not a "
                                                              "subdivision of DE; use one of BB, BE"),
    ('holidays_subdivision = "BY"', "[hours] holidays_subdivision: set holidays_country too"),
    ('closed_dates = ["24.12.2026"]', "[hours] closed_dates: '24.12.2026' is not a date like \"2026-12-24\""),
], ids=["timezone", "directory zone", "span", "overnight span", "overlap", "day", "all closed", "country",
        "subdivision", "subdivision alone", "closed date"])
def test_a_bad_hours_section_is_one_config_line_saying_how_to_fix_it(tmp_path: Path, section, says):
    path = tmp_path / "gateway.toml"
    path.write_text(f"[hours]\n{section}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    assert str(error.value).startswith("[hours] ") and says in str(error.value)
    assert "\n" not in str(error.value)


def test_the_default_hours_and_a_full_example_pass_the_check():
    check_hours(HoursSettings())
    check_hours(HoursSettings(timezone="Europe/Berlin", schedule=LUNCH_BREAK, holidays_country="DE",
                              holidays_subdivision="BY", closed_dates=("2026-12-24", "2026-12-31")))
