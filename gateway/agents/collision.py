"""Whether an agent's reply would step on a colleague's: a recent reply they had not seen yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ColleagueReply:
    """The newest reply another agent sent the customer."""

    agent_name: str
    agent_address: str
    at: datetime
    text: str


def must_hold(colleague: ColleagueReply | None, seen_at: datetime | None, now: datetime,
              window: timedelta) -> bool:
    """Hold when a colleague answered within the window, after the mail this agent was answering."""
    if colleague is None or now - colleague.at > window:
        return False
    return seen_at is None or colleague.at > seen_at
