"""When to try a temporarily failed delivery again."""

from __future__ import annotations

from datetime import datetime

from gateway.config import OutboundSettings
from gateway.models import OutboxItem


def next_attempt(item: OutboxItem, now: datetime, policy: OutboundSettings) -> datetime | None:
    """Doubling delays from min_backoff up to max_backoff; None once the item has expired."""
    if now >= item.expires_at:
        return None
    delay = min(policy.min_backoff * 2 ** max(item.attempts - 1, 0), policy.max_backoff)
    return min(now + delay, item.expires_at)
