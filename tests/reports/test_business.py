"""The report's business clock gives exactly what SupportHours.between gives, only faster."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from gateway.autoreply.hours import SupportHours
from gateway.config import HoursSettings
from gateway.reports.business import BusinessClock


def test_the_business_clock_agrees_with_support_hours_across_dst_holidays_and_split_days():
    hours = SupportHours.from_settings(HoursSettings(
        timezone="Europe/Berlin", schedule={"mon": ("08:00-12:00", "13:00-17:30"), "tue": ("09:00-17:00",),
                                            "wed": ("22:00-24:00",), "thu": ("00:00-06:00", "09:00-17:00"),
                                            "sat": ("10:00-14:00",)},
        holidays_country="DE", closed_dates=("2026-03-26",)))
    origin = datetime(2026, 3, 1, tzinfo=UTC)
    clock, rng = BusinessClock(hours, origin), random.Random(3)
    for _ in range(2000):
        start = origin + timedelta(minutes=rng.randrange(60 * 24 * 60))
        end = start + timedelta(minutes=rng.choice((rng.randrange(600), rng.randrange(60 * 24 * 20))))
        assert clock.between(start, end) == hours.between(start, end).total_seconds(), (start, end)


def test_spans_before_the_origin_and_backwards_spans_are_answered_too():
    hours = SupportHours.from_settings(HoursSettings())
    clock = BusinessClock(hours, datetime(2026, 3, 9, tzinfo=UTC))
    friday, monday = datetime(2026, 3, 6, 16, tzinfo=UTC), datetime(2026, 3, 9, 10, tzinfo=UTC)
    assert clock.between(friday, monday) == 2 * 3600
    assert clock.between(monday, monday - timedelta(hours=1)) == 0
