"""Survey figures as plain functions over rows: response rate, answers, CSAT, and the same per channel, tag,
month and (only when asked) agent. `gateway surveys stats` and any report call these."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from gateway.surveys.choices import is_satisfied

NO_TAG = "(no tag)"


@dataclass(frozen=True)
class SurveyRow:
    """One sent survey with what it is grouped by, and the customer's answer if any."""

    ref: str
    subject: str
    customer: str
    channel: str
    tags: tuple[str, ...]
    agent: str  # who last answered the customer ("" when unknown); shown only with --by-agent
    choices: int  # 5 or 3
    sent_at: datetime
    rating: int | None = None
    comment: str = ""
    rated_at: datetime | None = None
    rated_via: str = ""


@dataclass(frozen=True)
class Figures:
    """How one group of surveys went. CSAT is the share of answers that were satisfied (4-5 of 5, great of 3)."""

    sent: int
    answered: int
    satisfied: int

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None

    @property
    def csat(self) -> float | None:
        return self.satisfied / self.answered if self.answered else None


@dataclass(frozen=True)
class SurveyStats:
    overall: Figures
    # Per scale (5 or 3): how many answers gave each value, every value listed.
    distribution: dict[int, dict[int, int]]
    by_channel: dict[str, Figures]
    by_tag: dict[str, Figures]
    by_month: dict[str, Figures]
    by_agent: dict[str, Figures] = field(default_factory=dict)
    comments: tuple[SurveyRow, ...] = ()  # answered with a comment, newest first


def figures(rows: Iterable[SurveyRow]) -> Figures:
    rows = list(rows)
    ratings = [(r.choices, r.rating) for r in rows if r.rating is not None]
    return Figures(len(rows), len(ratings), sum(1 for scale, value in ratings if is_satisfied(scale, value)))


def distribution(rows: Iterable[SurveyRow]) -> dict[int, dict[int, int]]:
    """Answers per value, per scale used (a scale changed in the config keeps its old surveys apart)."""
    counts: dict[int, Counter[int]] = defaultdict(Counter)
    for row in rows:
        if row.rating is not None:
            counts[row.choices][row.rating] += 1
    return {scale: {value: counts[scale][value] for value in range(scale, 0, -1)} for scale in sorted(counts)}


def grouped(rows: Iterable[SurveyRow], keys: Callable[[SurveyRow], Sequence[str]]) -> dict[str, Figures]:
    """Figures per key; a row counts in each of its keys (a conversation with two tags is in both)."""
    groups: dict[str, list[SurveyRow]] = defaultdict(list)
    for row in rows:
        for key in keys(row):
            groups[key].append(row)
    return {key: figures(groups[key]) for key in sorted(groups)}


def summarize(rows: Sequence[SurveyRow], by_agent: bool = False) -> SurveyStats:
    """Everything `gateway surveys stats` shows; agents only when asked, as we measure the product first."""
    return SurveyStats(
        overall=figures(rows), distribution=distribution(rows),
        by_channel=grouped(rows, lambda r: (r.channel,)),
        by_tag=grouped(rows, lambda r: r.tags or (NO_TAG,)),
        by_month=grouped(rows, lambda r: (f"{r.sent_at:%Y-%m}",)),
        by_agent=grouped(rows, lambda r: (r.agent or "(unknown)",)) if by_agent else {},
        comments=tuple(sorted((r for r in rows if r.rating is not None and r.comment),
                              key=lambda r: r.rated_at or r.sent_at, reverse=True)))
