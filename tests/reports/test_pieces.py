"""The report's pure pieces: the window, reasons for no acknowledgement, CSAT, chart scales."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.reports.csat import summarise_csat
from gateway.surveys.stats import SurveyRow
from gateway.reports.suppression import reason_of
from gateway.reports.svg import _ticks
from gateway.reports.window import parse_moment, report_window

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(("text", "expected"), [
    ("30d", NOW - timedelta(days=30)),
    ("12h", NOW - timedelta(hours=12)),
    ("today", datetime(2026, 3, 9, 23, 0, tzinfo=UTC)),  # midnight in Berlin
    ("2026-03-01", datetime(2026, 2, 28, 23, 0, tzinfo=UTC)),
    ("2026-03-01 14:00", datetime(2026, 3, 1, 13, 0, tzinfo=UTC)),
    ("2026-03-01T14:00+00:00", datetime(2026, 3, 1, 14, 0, tzinfo=UTC)),
])
def test_moments_are_read_on_the_desks_calendar(text, expected):
    assert parse_moment(text, NOW, BERLIN) == expected


def test_the_default_window_is_the_last_30_days():
    window = report_window(None, None, NOW, BERLIN)
    assert (window.since, window.until) == (NOW - timedelta(days=30), NOW)


# The wording of gateway/autoreply/rule.py why_not and gateway/apply.py, as it lands in notes.
NOTES = [
    ("No acknowledgement sent: support@example.com is one of our own addresses.", "our own address"),
    ("No acknowledgement sent: noreply@x.example matches the no-reply pattern 'noreply*'.", "no-reply address"),
    ("No acknowledgement sent: an upstream filter marked the mail as spam (X-Spam-Flag: YES).",
     "marked as spam upstream"),
    ("No acknowledgement sent: mail to a@x.example hard-bounced on 2026-03-01.", "address bounced lately"),
    ("No acknowledgement sent: jörg@x.example needs SMTPUTF8, which we do not send yet.", "non-ASCII address"),
    ("No acknowledgement sent: circuit breaker: 20 automatic mails to a@x.example in the last hour.",
     "circuit breaker (mail loop)"),
    ("No acknowledgement sent: 10 acknowledgements to a@x.example in the last hour.", "hourly limit per sender"),
    ("No acknowledgement sent: it failed (KeyError: 'x').", "failed to compose"),
    ("Something new.", "other"),
]


@pytest.mark.parametrize(("body", "reason"), NOTES)
def test_each_never_send_rule_has_a_short_reason(body, reason):
    assert reason_of(body) == reason


def test_csat_is_none_without_surveys_and_counts_what_gateway_surveys_stats_counts_as_satisfied():
    assert summarise_csat([]) is None

    def row(rating: int | None, choices: int = 5) -> SurveyRow:
        return SurveyRow("R", "s", "c@x", "support@example.com", (), "", choices, NOW, rating)
    csat = summarise_csat([row(5), row(4), row(2), row(None), row(3, choices=3), row(2, choices=3)])
    assert csat is not None
    assert (csat.sent, csat.answered, csat.response_rate) == (6, 5, pytest.approx(5 / 6))
    # 4 and 5 of five, and "great" (3) of three: "okay" is not satisfied on either scale.
    assert csat.satisfied_share == pytest.approx(3 / 5)


@pytest.mark.parametrize(("top", "ticks"), [(1, [0, 1]), (7, [0, 2, 4, 6, 8]), (38, [0, 10, 20, 30, 40]),
                                            (30000, [0, 10000, 20000, 30000])])
def test_chart_axes_use_a_few_round_steps(top, ticks):
    assert _ticks(top) == ticks
