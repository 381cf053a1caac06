"""What the acknowledgement template sees: plain values, already phrased, so templates stay simple."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HoursView:
    """Whether people are working now, and if not, why and when they are back."""

    open_now: bool
    # Why we are closed now: "" (open), "weekend", "holiday", "evening", "night" or "closed".
    closed_for: str = ""
    holiday: str = ""  # the holiday's name, when closed_for == "holiday"
    next_opening: str = ""  # e.g. "Monday at 09:00 CET"; "" when open now
    timezone: str = ""  # the abbreviation shown to customers, e.g. "CET"


@dataclass(frozen=True)
class ResponseView:
    """The reply time we state: measured from the store, or the configured fallback."""

    typical: str  # e.g. "usually within 3 hours"
    expected_by: str  # e.g. "by about 15:00 today", "by tomorrow morning", "on Monday by about 11:00 CET"
    measured: bool  # False: fewer than [autoreply] min_samples first replies; the fallback is used
    median_minutes: int = 0
    p90_minutes: int = 0
    samples: int = 0


@dataclass(frozen=True)
class LinkView:
    title: str
    url: str


@dataclass(frozen=True)
class IncidentView:
    title: str
    kind: str  # "outage" or "maintenance"
    detail: str = ""
    until: str = ""  # e.g. "Monday at 18:00 CET"; "" when unknown
