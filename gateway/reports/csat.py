"""Customer satisfaction for the report: the survey figures (gateway/surveys/stats.py) of the window's surveys."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session

from gateway.reports.window import Window
from gateway.surveys.rows import survey_rows
from gateway.surveys.stats import SurveyRow, figures


@dataclass(frozen=True)
class Csat:
    sent: int
    answered: int
    response_rate: float | None
    # CSAT: the share of answers that were satisfied (4 or 5 of 5, "great" of 3), as `gateway surveys stats` says.
    satisfied_share: float | None


def fetch_surveys(tx: Session, window: Window, channel: str | None) -> list[SurveyRow]:
    """Surveys sent in the window (on one channel when given)."""
    return [r for r in survey_rows(tx, window.since, window.until) if channel is None or r.channel == channel]


def summarise_csat(surveys: Iterable[SurveyRow]) -> Csat | None:
    """None when no survey was sent (the report then says "no surveys")."""
    found = figures(surveys)
    if not found.sent:
        return None
    return Csat(found.sent, found.answered, found.response_rate, found.csat)
