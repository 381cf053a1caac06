"""The answers a survey offers: five (1 to 5) or three (not good, okay, great), best first."""

from __future__ import annotations

from dataclasses import dataclass

_LABELS = {5: {5: "Excellent", 4: "Good", 3: "Okay", 2: "Poor", 1: "Very poor"},
           3: {3: "Great", 2: "Okay", 1: "Not good"}}


@dataclass(frozen=True)
class Choice:
    value: int
    label: str


def choices(scale: int) -> tuple[Choice, ...]:
    """The choices of a 5- or 3-point survey, best first (how the mail and the page list them)."""
    return tuple(Choice(value, label) for value, label in _LABELS[scale].items())


def label(scale: int, value: int) -> str:
    return _LABELS[scale][value]


def is_satisfied(scale: int, value: int) -> bool:
    """CSAT counts the top two of five and the top one of three ("great") as satisfied."""
    return value >= (4 if scale == 5 else 3)
