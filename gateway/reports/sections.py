"""The report's other sections: reply-time distribution, busiest hours, tags, known issues, auto-replies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.autoreply.hours import SupportHours
from gateway.models import Direction
from gateway.reports.metrics import BusinessTimes
from gateway.reports.rows import ConversationRow, KnownIssueRow, MessageCount, SkippedAcknowledgement
from gateway.reports.suppression import reason_of

# Upper bounds of the first-response buckets, in business hours; the last bucket is open.
BUCKETS: tuple[tuple[str, float], ...] = (("< 1h", 3600), ("1-2h", 2 * 3600), ("2-4h", 4 * 3600), ("4-8h", 8 * 3600),
                                          ("8-16h", 16 * 3600), ("16-40h", 40 * 3600))
LAST_BUCKET = "40h +"
MACHINE_KINDS = ("auto_reply", "bounce", "bulk", "feedback_report")


@dataclass(frozen=True)
class Bucket:
    label: str
    count: int


def first_response_histogram(business: BusinessTimes) -> list[Bucket]:
    """How many first replies took how long, in business hours."""
    counts = Counter[str]()
    for took, _ in business.values():
        if took is not None:
            counts[next((label for label, bound in BUCKETS if took < bound), LAST_BUCKET)] += 1
    return [Bucket(label, counts[label]) for label in (*(b[0] for b in BUCKETS), LAST_BUCKET)]


def busiest_hours(messages: Sequence[MessageCount], hours: SupportHours) -> list[list[int]]:
    """Customer messages by weekday (Monday first) and hour on the desk's clock: when demand arrives."""
    grid = [[0] * 24 for _ in range(7)]
    for m in messages:
        if m.direction == Direction.IN and m.kind == "customer" and m.slot is not None:
            local = hours.local(m.slot)
            grid[local.weekday()][local.hour] += m.count
    return grid


@dataclass(frozen=True)
class TagCount:
    tag: str
    conversations: int
    share: float


def top_tags(conversations: Sequence[ConversationRow], limit: int = 10) -> list[TagCount]:
    counts = Counter(tag for c in conversations for tag in set(c.tags))
    total = len(conversations) or 1
    return [TagCount(tag, n, n / total) for tag, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


@dataclass(frozen=True)
class KnownIssueSummary:
    """One known issue: its conversations in the window, how many came after it was known, how many partners'."""

    name: str
    known_since: datetime
    conversations: int
    already_known: int
    partners: int


@dataclass(frozen=True)
class Segment:
    """Partners or everyone else: of their conversations, how many were about an already-known issue."""

    segment: str
    conversations: int
    already_known: int
    share: float | None


def _already_known(c: ConversationRow, known: dict[str, KnownIssueRow]) -> bool:
    return any(tag in known and c.created_at > known[tag].created_at for tag in c.tags)


def known_issues(conversations: Sequence[ConversationRow], issues: Sequence[KnownIssueRow]
                 ) -> tuple[list[KnownIssueSummary], list[Segment]]:
    """Per known issue, and the partners' share of conversations about issues already known when they wrote."""
    known = {i.name: i for i in issues}
    summaries = []
    for issue in sorted(issues, key=lambda i: i.created_at):
        about = [c for c in conversations if issue.name in c.tags]
        summaries.append(KnownIssueSummary(issue.name, issue.created_at, len(about),
                                           sum(1 for c in about if c.created_at > issue.created_at),
                                           sum(1 for c in about if c.partner)))
    segments = []
    for name, partner in (("partners", True), ("others", False)):
        mine = [c for c in conversations if c.partner == partner]
        hits = sum(1 for c in mine if _already_known(c, known))
        segments.append(Segment(name, len(mine), hits, hits / len(mine) if mine else None))
    return [s for s in summaries if s.conversations], segments


@dataclass(frozen=True)
class AutoReplies:
    """Acknowledgements queued, failed in delivery and not sent (by reason); machine mail is never answered."""

    sent: int
    failed: int
    suppressed: list[tuple[str, int]]
    machine_mail: int


def auto_replies(messages: Sequence[MessageCount], skipped: Sequence[SkippedAcknowledgement],
                 failed: int) -> AutoReplies:
    reasons = Counter(reason_of(s.reason) for s in skipped)
    return AutoReplies(
        sent=sum(m.count for m in messages if m.direction == Direction.OUT and m.kind == "acknowledgement"),
        failed=failed, suppressed=sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])),
        machine_mail=sum(m.count for m in messages if m.direction == Direction.IN and m.kind in MACHINE_KINDS))
