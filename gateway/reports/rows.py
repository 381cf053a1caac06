"""What a report reads from the store: small rows, counted by SQL; never a message's text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ConversationRow:
    """One conversation opened in the window, with what the report measures about it."""

    id: int
    created_at: datetime
    channel: str
    status: str
    tags: tuple[str, ...] = ()
    partner: bool = False
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    # Customer messages plus agents' replies to the customer, over the conversation's whole life.
    exchanges: int = 0
    reopened: bool = False


@dataclass(frozen=True, slots=True)
class MessageCount:
    """How many messages of one direction and kind arrived: in one slot of time (an hour, or a quarter hour where
    the desk's zone needs it), or, for --by channel or tag, on one channel with one set of tags."""

    direction: str
    kind: str
    count: int
    slot: datetime | None = None
    channel: str = ""  # "" for machine mail that belongs to no conversation
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SkippedAcknowledgement:
    """A conversation that got no acknowledgement, and the note that says why."""

    at: datetime
    reason: str
    channel: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class KnownIssueRow:
    name: str
    created_at: datetime


@dataclass(frozen=True)
class AgentRow:
    """One agent's replies to customers in the window (only for `--by-agent`)."""

    agent: str
    replies: int
    conversations: int
    resolved_assigned: int = 0


@dataclass(frozen=True)
class ReportRows:
    """Everything the computation needs, fetched in a handful of aggregate queries."""

    conversations: list[ConversationRow] = field(default_factory=list)
    messages: list[MessageCount] = field(default_factory=list)  # by slot of time
    by_group: list[MessageCount] | None = None  # by channel and tags, when the report is split by them
    skipped: list[SkippedAcknowledgement] = field(default_factory=list)
    failed_acknowledgements: int = 0
    known_issues: list[KnownIssueRow] = field(default_factory=list)
    agents: list[AgentRow] | None = None
