"""The send-time rules of a survey, as pure functions over facts and a fixed clock."""

from __future__ import annotations

from dataclasses import replace as copy
from datetime import UTC, datetime, timedelta

import pytest

from gateway.actions import SendSurvey, SkipSurvey
from gateway.autoreply.hours import SupportHours
from gateway.config import Settings, replace
from gateway.surveys.rules import SurveyFacts, decide_survey, in_sample, why_no_survey
from gateway.surveys.schedule import survey_due_at

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)  # a Tuesday
SETTINGS = replace(Settings(), mail={"addresses": ("support@example.com", "beta@example.com")},
                   web={"public_url": "https://support.example.com"})
# Everything a survey needs: resolved, an agent answered a person, nothing against it.
GOOD = SurveyFacts(ref="K7Q2M9XA", status="resolved", channel="support@example.com",
                   customer_address="anne@customer.example", agent_replied=True)


def test_a_resolved_conversation_an_agent_answered_gets_its_survey() -> None:
    assert why_no_survey(GOOD, SETTINGS, NOW) == ""
    assert decide_survey(GOOD, SETTINGS, NOW) == [SendSurvey()]


CASES = [
    ("reopened", {"status": "open"}, {}, "it is open again, no longer resolved"),
    ("set pending", {"status": "pending"}, {}, "it is pending again"),
    ("merged", {"merged": True}, {}, "merged into another conversation"),
    ("surveyed before", {"already_surveyed": True}, {}, "it was surveyed before"),
    ("#nosurvey", {"no_survey": True}, {}, "an agent marked it #nosurvey"),
    ("no agent reply", {"agent_replied": False}, {}, "no agent replied to the customer"),
    ("only machines wrote", {"customer_wrote": False}, {}, "no person wrote in it"),
    ("a no-reply address", {"customer_address": "noreply@shop.example"}, {}, "no-reply pattern 'noreply*'"),
    ("our own address", {"customer_address": "support+x@example.com"}, {}, "one of our own addresses"),
    ("a non-ASCII address", {"customer_address": "jörg@customer.example"}, {}, "needs SMTPUTF8"),
    ("opted out", {"opted_out_at": NOW - timedelta(days=400)}, {}, "opted out of surveys on 2025-02-03"),
    ("bounced lately", {"bounced_at": NOW - timedelta(days=59)}, {}, "hard-bounced on 2026-01-10"),
    ("a partner, partners excluded", {"partner": True}, {"surveys": {"exclude_partners": True}},
     "partners are not surveyed"),
    ("an excluded channel", {"channel": "beta@example.com"}, {"surveys": {"exclude_channels": ("beta@example.com",)}},
     "beta@example.com is not surveyed"),
    ("surveyed 29 days ago", {"last_surveyed_at": NOW - timedelta(days=29)}, {},
     "surveyed on 2026-02-09, within the 30-day spacing"),
    ("circuit breaker", {"automatic_last_hour": 20}, {}, "circuit breaker: 20 automatic mails"),
    ("surveys off", {}, {"surveys": {"enabled": False}}, "surveys are off"),
    ("no public address for its links", {}, {"web": {"public_url": ""}},
     "no address customers can open its links at ([web] public_url is empty)"),
    ("not drawn in the sample", {}, {"surveys": {"sample_rate": 0}}, "not drawn in the 0% sample"),
]


@pytest.mark.parametrize(("facts", "config", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_survey_is_skipped_and_the_reason_named_when(facts, config, says) -> None:
    settings = replace(SETTINGS, **config)
    reason = why_no_survey(copy(GOOD, **facts), settings, NOW)
    assert says in reason
    assert decide_survey(copy(GOOD, **facts), settings, NOW) == [SkipSurvey(reason)]


@pytest.mark.parametrize(("facts", "config"), [
    ({"last_surveyed_at": NOW - timedelta(days=30, seconds=1)}, {}),
    ({"last_surveyed_at": NOW - timedelta(days=8)}, {"surveys": {"spacing": timedelta(days=7)}}),
    ({"bounced_at": NOW - timedelta(days=61)}, {}),
    ({"partner": True}, {}),
    ({"channel": "beta@example.com"}, {}),
    ({"automatic_last_hour": 19}, {}),
], ids=["spacing over", "a shorter spacing", "an old bounce", "partners included by default",
        "channels included by default", "under the breaker"])
def test_a_survey_still_goes_out_when(facts, config) -> None:
    assert why_no_survey(copy(GOOD, **facts), replace(SETTINGS, **config), NOW) == ""


def test_the_spacing_spans_all_of_a_customers_conversations_not_just_this_one() -> None:
    # The facts name the customer's last survey on any conversation; this conversation was never surveyed.
    other = copy(GOOD, ref="QW3RT5YZ", last_surveyed_at=NOW - timedelta(days=3))
    assert "within the 30-day spacing" in why_no_survey(other, SETTINGS, NOW)


def test_the_sample_is_a_fixed_draw_per_conversation_near_the_rate() -> None:
    refs = [f"{n:08d}".translate(str.maketrans("0123456789", "ABCDEFGHJK")) for n in range(2000)]
    drawn = [ref for ref in refs if in_sample(ref, 25)]
    assert 400 < len(drawn) < 600
    assert drawn == [ref for ref in refs if in_sample(ref, 25)], "a retry decides the same"
    assert all(in_sample(ref, 100) for ref in refs) and not any(in_sample(ref, 0) for ref in refs)
    assert set(drawn) <= {ref for ref in refs if in_sample(ref, 50)}, "a higher rate keeps everyone a lower one drew"


def test_the_delay_counts_clock_time_by_default() -> None:
    friday_evening = datetime(2026, 3, 13, 18, 0, tzinfo=UTC)
    assert survey_due_at(friday_evening, SETTINGS) == datetime(2026, 3, 14, 18, 0, tzinfo=UTC)


def test_the_delay_counts_working_hours_when_asked() -> None:
    settings = replace(SETTINGS, surveys={"business_hours": True, "delay": timedelta(hours=8)},
                       hours={"timezone": "Europe/Berlin"})
    hours = SupportHours.from_settings(settings.hours)
    friday_evening = datetime(2026, 3, 13, 18, 0, tzinfo=UTC)  # 19:00 in Berlin, closed
    # One working day: all of Monday, 09:00-17:00 Berlin time (08:00-16:00 UTC).
    assert survey_due_at(friday_evening, settings, hours) == datetime(2026, 3, 16, 16, 0, tzinfo=UTC)
    assert survey_due_at(friday_evening, settings) == survey_due_at(friday_evening, settings, hours)
