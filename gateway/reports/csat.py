"""Customer satisfaction for the report: a section of its own, computed from survey rows when surveys exist."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from gateway.reports.window import Window


@dataclass(frozen=True)
class SurveyRow:
    """One survey sent; `score` is None until the customer answers (on a 1..`scale` scale)."""

    sent_at: datetime
    channel: str
    score: int | None = None
    scale: int = 5


@dataclass(frozen=True)
class Csat:
    sent: int
    answered: int
    response_rate: float | None
    # Share of answers in the top two points of the scale (the top one on a good/bad scale): the usual CSAT.
    satisfied_share: float | None
    mean_score: float | None


def fetch_surveys(tx: Session, window: Window, channel: str | None) -> list[SurveyRow]:
    """Surveys sent in the window. Surveys are not in this branch yet (issue 5 adds their table): when it lands,
    select (sent_at, conversation channel, score, scale) here; nothing else in the report changes."""
    return []


def summarise_csat(surveys: Iterable[SurveyRow]) -> Csat | None:
    """None when no survey was sent (the report then says "no surveys")."""
    rows = list(surveys)
    if not rows:
        return None
    answered = [r for r in rows if r.score is not None]
    satisfied = [r for r in answered if (r.score or 0) >= (r.scale - 1 if r.scale > 2 else r.scale)]
    return Csat(sent=len(rows), answered=len(answered), response_rate=len(answered) / len(rows),
                satisfied_share=len(satisfied) / len(answered) if answered else None,
                mean_score=sum(r.score or 0 for r in answered) / len(answered) if answered else None)
