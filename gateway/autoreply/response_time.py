"""How long first replies take in business time: measured from the store, summarised, and cached."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from gateway.autoreply.hours import SupportHours
from gateway.clock import utc_now
from gateway.models import Conversation, Customer, Status

if TYPE_CHECKING:
    from gateway.config import AutoReplySettings


@dataclass(frozen=True)
class ResponseStats:
    """Typical business time to a first reply; `measured` is False when it is the configured fallback."""

    median: timedelta
    p90: timedelta
    samples: int
    measured: bool


def summarise(business_durations: Iterable[timedelta], min_samples: int, fallback: timedelta) -> ResponseStats:
    """Median and 90th percentile (nearest rank); the fallback for both with fewer than `min_samples` samples."""
    ordered = sorted(business_durations)
    count = len(ordered)
    if count == 0 or count < min_samples:
        return ResponseStats(fallback, fallback, count, measured=False)
    middle = count // 2
    median = ordered[middle] if count % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return ResponseStats(median, ordered[math.ceil(0.9 * count) - 1], count, measured=True)


def first_response_samples(tx: Session, hours: SupportHours, channel: str, partner: bool,
                           partner_addresses: Callable[[str], bool], since: datetime, now: datetime,
                           waiting_counts_after: timedelta = timedelta.max) -> list[timedelta]:
    """Business time to first reply on `channel` since `since`, partners' or everyone else's; a conversation
    still waiting counts with its wait so far once that passes `waiting_counts_after` (else a backlog hides)."""
    answered_by_now = col(Conversation.first_response_at).is_not(None) & (col(Conversation.first_response_at) <= now)
    waiting = col(Conversation.first_response_at).is_(None) & (col(Conversation.status) != Status.RESOLVED) \
        & col(Conversation.merged_into_id).is_(None)
    rows = tx.exec(
        select(Conversation.created_at, Conversation.first_response_at, Customer.partner, Customer.address)
        .outerjoin(Customer, col(Conversation.customer_id) == col(Customer.id))
        .where(Conversation.channel == channel, col(Conversation.created_at) >= since, answered_by_now | waiting)
    ).all()
    samples = []
    for created, answered, is_partner, address in rows:
        if (bool(is_partner) or (address is not None and partner_addresses(address))) != partner:
            continue
        took = hours.between(created, answered or now)
        if answered is not None or took >= waiting_counts_after:
            samples.append(took)
    return samples


def measure(tx: Session, hours: SupportHours, settings: AutoReplySettings, channel: str, partner: bool,
            partner_addresses: Callable[[str], bool], now: datetime) -> ResponseStats:
    """The stats for one channel and kind of sender over the last [autoreply] stats_window."""
    samples = first_response_samples(tx, hours, channel, partner, partner_addresses, now - settings.stats_window, now,
                                     waiting_counts_after=settings.fallback_response)
    return summarise(samples, settings.min_samples, settings.fallback_response)


class ResponseStatsCache:
    """Stats per (channel, partner), kept for `ttl` so new conversations do not each query the store."""

    def __init__(self, ttl: timedelta = timedelta(minutes=10), clock: Callable[[], datetime] = utc_now) -> None:
        self._ttl, self._clock = ttl, clock
        self._entries: dict[tuple[str, bool], tuple[datetime, ResponseStats]] = {}
        self._lock = threading.Lock()

    def get(self, channel: str, partner: bool, compute: Callable[[], ResponseStats]) -> ResponseStats:
        """The stats remembered for (channel, partner), or `compute()`'s when none are younger than the TTL."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get((channel, partner))
        if entry is not None and now - entry[0] < self._ttl:
            return entry[1]
        # Computed outside the lock: two threads may both query once, but neither waits on the other's query.
        stats = compute()
        with self._lock:
            self._entries[(channel, partner)] = (now, stats)
        return stats

    def clear(self) -> None:
        """Forget everything, e.g. after the [hours] or [autoreply] settings change."""
        with self._lock:
            self._entries.clear()
