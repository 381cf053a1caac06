"""The one clock the daemon reads; tests pass their own."""

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
