"""Measured reply times: median and 90th percentile in business time, a fallback until there is history, a cache."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.autoreply.hours import SupportHours
from gateway.autoreply.response_time import (ResponseStats, ResponseStatsCache, first_response_samples, measure,
                                             summarise)
from gateway.config import AutoReplySettings, HoursSettings
from gateway.models import Conversation, Customer
from tests.helpers import FixedClock

BERLIN = ZoneInfo("Europe/Berlin")
CHANNEL = "support@example.com"
FALLBACK = timedelta(hours=4)
DESK = SupportHours.from_settings(HoursSettings(timezone="Europe/Berlin"))
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def test_twenty_samples_give_the_middle_pair_as_median_and_the_18th_as_p90():
    samples = [timedelta(hours=n) for n in range(1, 21)]
    random.Random(4).shuffle(samples)
    assert summarise(samples, min_samples=20, fallback=FALLBACK) == ResponseStats(
        median=timedelta(hours=10, minutes=30), p90=timedelta(hours=18), samples=20, measured=True)


def test_an_odd_number_of_samples_has_a_single_middle_and_a_nearest_rank_p90():
    samples = [timedelta(minutes=n) for n in range(21, 0, -1)]
    assert summarise(samples, min_samples=20, fallback=FALLBACK) == ResponseStats(
        median=timedelta(minutes=11), p90=timedelta(minutes=19), samples=21, measured=True)


def test_fewer_than_min_samples_states_the_fallback_and_says_it_is_not_measured():
    samples = [timedelta(minutes=5)] * 19
    assert summarise(samples, min_samples=20, fallback=FALLBACK) == ResponseStats(FALLBACK, FALLBACK, 19, False)


def test_no_history_at_all_states_the_fallback_even_when_min_samples_is_zero():
    assert summarise([], min_samples=0, fallback=FALLBACK) == ResponseStats(FALLBACK, FALLBACK, 0, False)


def add_conversation(tx, ref: str, customer: Customer | None, created: datetime, answered: datetime | None,
                     channel: str = CHANNEL) -> None:
    tx.add(Conversation(ref=ref, customer_id=customer.id if customer else None, channel=channel, created_at=created,
                        updated_at=created, first_response_at=answered))


def seed_customers(tx) -> tuple[Customer, Customer, Customer]:
    anne = Customer(address="anne@customer.example", created_at=NOW)
    flagged = Customer(address="pat@partner.example", partner=True, created_at=NOW)
    listed = Customer(address="lee@reseller.example", created_at=NOW)
    tx.add_all([anne, flagged, listed])
    tx.flush()
    return anne, flagged, listed


def is_reseller(address: str) -> bool:
    return address.endswith("@reseller.example")


def test_samples_are_business_time_to_first_reply_on_the_channel_split_into_partners_and_others(store):
    with store.transaction() as tx:
        anne, flagged, listed = seed_customers(tx)
        # Friday 16:00 answered Monday 10:00 is two business hours, not 66.
        add_conversation(tx, "A1", anne, berlin(2026, 2, 27, 16), berlin(2026, 3, 2, 10))
        add_conversation(tx, "A2", anne, berlin(2026, 2, 25, 9), berlin(2026, 2, 25, 9, 45))
        add_conversation(tx, "N1", None, berlin(2026, 2, 24, 14), berlin(2026, 2, 24, 15))
        add_conversation(tx, "P1", flagged, berlin(2026, 2, 26, 10), berlin(2026, 2, 26, 10, 20))
        add_conversation(tx, "P2", listed, berlin(2026, 2, 26, 11), berlin(2026, 2, 26, 14))
        # Not counted: unanswered, another channel, older than the window, answered after `now`.
        add_conversation(tx, "X1", anne, berlin(2026, 2, 26, 10), None)
        add_conversation(tx, "X2", anne, berlin(2026, 2, 26, 10), berlin(2026, 2, 26, 11),
                         channel="billing@example.com")
        add_conversation(tx, "X3", anne, berlin(2026, 1, 20, 10), berlin(2026, 1, 20, 11))
        add_conversation(tx, "X4", anne, berlin(2026, 3, 2, 9), NOW + timedelta(hours=1))
    since = NOW - timedelta(days=30)
    with store.reading() as tx:
        others = first_response_samples(tx, DESK, CHANNEL, False, is_reseller, since, NOW)
        partners = first_response_samples(tx, DESK, CHANNEL, True, is_reseller, since, NOW)
    assert sorted(others) == [timedelta(minutes=45), timedelta(hours=1), timedelta(hours=2)]
    assert sorted(partners) == [timedelta(minutes=20), timedelta(hours=3)]


def test_a_seeded_month_is_measured_for_customers_while_three_partner_replies_still_use_the_fallback(store):
    with store.transaction() as tx:
        anne, flagged, _ = seed_customers(tx)
        # Twenty conversations opened at 09:00 on successive working days, answered after 1..20 x 15 minutes.
        mornings = [berlin(2026, 2, day, 9) for day in range(2, 28) if datetime(2026, 2, day).weekday() < 5]
        for n, opened in enumerate(mornings, start=1):
            add_conversation(tx, f"C{n}", anne, opened, opened + timedelta(minutes=15 * n))
        for n, opened in enumerate(mornings[:3]):
            add_conversation(tx, f"P{n}", flagged, opened, opened + timedelta(hours=1))
    with store.reading() as tx:
        customers = measure(tx, DESK, AutoReplySettings(), CHANNEL, False, is_reseller, NOW)
        partners = measure(tx, DESK, AutoReplySettings(), CHANNEL, True, is_reseller, NOW)
    assert customers == ResponseStats(timedelta(minutes=157, seconds=30), timedelta(hours=4, minutes=30), 20, True)
    assert partners == ResponseStats(FALLBACK, FALLBACK, 3, False)


def test_conversations_still_waiting_longer_than_the_fallback_count_so_a_backlog_is_not_hidden(store):
    with store.transaction() as tx:
        anne, _, _ = seed_customers(tx)
        add_conversation(tx, "A1", anne, berlin(2026, 2, 26, 10), berlin(2026, 2, 26, 11))
        # Waiting since Thursday 10:00: 7 + 8 + 1.5 working hours by Monday 10:30; counted as at least that.
        add_conversation(tx, "W1", anne, berlin(2026, 2, 26, 10), None)
        # Waiting 30 minutes: too young to say anything yet.
        add_conversation(tx, "W2", anne, NOW - timedelta(minutes=30), None)
    since = NOW - timedelta(days=30)
    with store.reading() as tx:
        samples = first_response_samples(tx, DESK, CHANNEL, False, is_reseller, since, NOW,
                                         waiting_counts_after=FALLBACK)
    assert sorted(samples) == [timedelta(hours=1), DESK.between(berlin(2026, 2, 26, 10), NOW)]


def test_the_cache_computes_once_per_channel_and_kind_until_the_ttl_runs_out():
    clock, calls = FixedClock(), []

    def compute(label: str) -> ResponseStats:
        calls.append(label)
        return ResponseStats(timedelta(hours=len(calls)), timedelta(hours=9), 30, True)

    cache = ResponseStatsCache(ttl=timedelta(minutes=10), clock=clock)
    first = cache.get(CHANNEL, False, lambda: compute("customers"))
    clock.advance(minutes=9)
    assert cache.get(CHANNEL, False, lambda: compute("customers")) == first
    cache.get(CHANNEL, True, lambda: compute("partners"))
    cache.get("billing@example.com", False, lambda: compute("billing"))
    assert calls == ["customers", "partners", "billing"]
    clock.advance(minutes=1)
    assert cache.get(CHANNEL, False, lambda: compute("customers")) != first
    assert calls == ["customers", "partners", "billing", "customers"]
    cache.clear()
    cache.get(CHANNEL, True, lambda: compute("partners"))
    assert calls[-1] == "partners" and len(calls) == 5
