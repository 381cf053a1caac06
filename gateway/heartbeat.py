"""Every gateway process writes a heartbeat row every few seconds; `gateway status` reads them from any host."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, delete, select

from gateway.clock import utc_now
from gateway.models import Heartbeat
from gateway.store import Store

log = logging.getLogger(__name__)
INTERVAL = timedelta(seconds=10)
# A process silent this long is not running: killed, hung, or its host is gone.
STALE_AFTER = 3 * INTERVAL
# Rows of processes gone this long are removed, so restarts do not pile up.
KEEP = timedelta(days=7)


class LastError(logging.Handler):
    """Remembers the newest ERROR logged in this process."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.latest: tuple[datetime, str] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage().splitlines()[0] if record.getMessage() else record.levelname
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.latest = (datetime.fromtimestamp(record.created, UTC), text[:2000])


class Beats:
    """This process's heartbeat: `run_once` writes one beat; `stopped` records a clean stop."""

    def __init__(self, store: Store, role: str, detail: str = "", clock: Callable[[], datetime] = utc_now) -> None:
        self.store, self.role, self.detail, self.clock = store, role, detail, clock
        self._id: int | None = None
        self._errors = LastError()
        logging.getLogger("gateway").addHandler(self._errors)

    def run_once(self) -> int:
        """Write one beat (the first one creates this process's row); 0, so a Worker then sleeps INTERVAL."""
        now = self.clock()
        with self.store.transaction() as tx:
            row = tx.get(Heartbeat, self._id) if self._id is not None else None
            if row is None:
                tx.exec(delete(Heartbeat).where(col(Heartbeat.beat_at) < now - KEEP))  # type: ignore[call-overload]
                row = Heartbeat(host=socket.gethostname()[:255], pid=os.getpid(), role=self.role,
                                detail=self.detail[:200], started_at=now, beat_at=now)
                tx.add(row)
            row.beat_at = now
            if self._errors.latest is not None:
                row.last_error_at, row.last_error = self._errors.latest
            tx.flush()
            self._id = row.id
        return 0

    def stopped(self) -> None:
        """Record a clean stop, so `gateway status` says stopped rather than gone."""
        logging.getLogger("gateway").removeHandler(self._errors)
        if self._id is None:
            return
        with self.store.transaction() as tx:
            row = tx.get(Heartbeat, self._id)
            if row is not None:
                row.stopped_at = row.beat_at = self.clock()

    async def run(self, stop: asyncio.Event) -> None:
        """Beat from the event loop itself until `stop`: a loop that hangs stops beating, and status shows it."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # The store may be briefly unwell; the next beat tries again.
                log.warning("heartbeat not written", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), INTERVAL.total_seconds())
        await asyncio.to_thread(self.stopped)


@dataclass(frozen=True)
class ProcessState:
    """One gateway process as `gateway status` shows it."""

    host: str
    pid: int
    role: str
    detail: str
    started_at: datetime
    beat_at: datetime
    state: str  # "running", "stopped" (cleanly) or "gone" (silent: killed, hung or its host is down)
    last_error: str
    last_error_at: datetime | None


def state_of(row: Heartbeat, now: datetime) -> str:
    if row.stopped_at is not None:
        return "stopped"
    return "running" if now - row.beat_at <= STALE_AFTER else "gone"


def processes(tx: Session, now: datetime) -> list[ProcessState]:
    """Every process that beat within KEEP, newest first."""
    rows = tx.exec(select(Heartbeat).where(col(Heartbeat.beat_at) >= now - KEEP)
                   .order_by(col(Heartbeat.beat_at).desc())).all()
    return [ProcessState(r.host, r.pid, r.role, r.detail, r.started_at, r.beat_at, state_of(r, now), r.last_error,
                         r.last_error_at) for r in rows]
