"""Survey figures are plain functions over rows: response rate, answers, CSAT and the same per group."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.surveys.stats import NO_TAG, Figures, SurveyRow, summarize

MARCH, APRIL = datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 4, 7, tzinfo=UTC)


def row(rating: int | None, *, channel: str = "support@example.com", tags: tuple[str, ...] = (), agent: str = "Alice",
        choices: int = 5, sent_at: datetime = MARCH, comment: str = "") -> SurveyRow:
    return SurveyRow(ref="K7Q2M9XA", subject="Printer", customer="anne@customer.example", channel=channel, tags=tags,
                     agent=agent, choices=choices, sent_at=sent_at, rating=rating, comment=comment,
                     rated_at=sent_at if rating else None, rated_via="web" if rating else "")


ROWS = [
    row(5, tags=("printer",), comment="Quick!"),
    row(4, tags=("printer", "urgent")),
    row(2, channel="billing@example.com", agent="Bob", comment="Took a week.", sent_at=APRIL),
    row(None, channel="billing@example.com", agent="Bob", sent_at=APRIL),
    row(3, choices=3, sent_at=APRIL),
]


def test_csat_is_the_share_of_answers_that_were_satisfied_and_response_rate_of_surveys_answered() -> None:
    stats = summarize(ROWS)
    assert stats.overall == Figures(sent=5, answered=4, satisfied=3)  # 5 and 4 of five, "great" of three
    assert stats.overall.response_rate == 0.8 and stats.overall.csat == 0.75


def test_answers_are_counted_per_value_with_each_scale_apart() -> None:
    assert summarize(ROWS).distribution == {3: {3: 1, 2: 0, 1: 0}, 5: {5: 1, 4: 1, 3: 0, 2: 1, 1: 0}}


def test_figures_by_channel_tag_and_month() -> None:
    stats = summarize(ROWS)
    assert stats.by_channel == {"billing@example.com": Figures(2, 1, 0), "support@example.com": Figures(3, 3, 3)}
    assert stats.by_tag == {NO_TAG: Figures(3, 2, 1), "printer": Figures(2, 2, 2), "urgent": Figures(1, 1, 1)}
    assert stats.by_month == {"2026-03": Figures(2, 2, 2), "2026-04": Figures(3, 2, 1)}


def test_agents_appear_only_when_asked() -> None:
    assert summarize(ROWS).by_agent == {}
    assert summarize(ROWS, by_agent=True).by_agent == {"Alice": Figures(3, 3, 3), "Bob": Figures(2, 1, 0)}


def test_comments_come_newest_first() -> None:
    assert [r.comment for r in summarize(ROWS).comments] == ["Took a week.", "Quick!"]


def test_no_surveys_means_no_rates_rather_than_zero() -> None:
    stats = summarize([])
    assert stats.overall == Figures(0, 0, 0) and stats.overall.response_rate is None and stats.overall.csat is None
    assert stats.distribution == {} and stats.by_channel == {}
