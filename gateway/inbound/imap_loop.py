"""IMAP intake, over time: each mailbox read again and again in its own thread, IDLE or polling, surviving faults."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from gateway.config import ImapSettings, MailboxSettings
from gateway.errors import StorageError
from gateway.inbound.imap import MailboxReader
from gateway.inbound.imap_connect import ImapFault, connect, disconnect
from gateway.inbound.mailbox_lock import MailboxLock
from gateway.store import Store

log = logging.getLogger(__name__)


class MailboxLoop:
    """Keeps one mailbox read until stopped: one reader per mailbox across gateways, reconnecting with growing
    delays after any failure, each outage logged once."""

    def __init__(self, box: MailboxSettings, imap: ImapSettings, store: Store, clock: Callable[[], datetime],
                 on_commit: Callable[[], None] = lambda: None) -> None:
        self.box, self.imap = box, imap
        self.reader = MailboxReader(box, imap, store, clock, on_commit)
        self.lock = MailboxLock(store.url, box.key)
        self._outage: str | None = None
        self._failures = 0

    def run(self, stop: threading.Event) -> None:
        """Read until `stop` is set; every failure is retried with a growing delay and logged once per outage."""
        try:
            while not stop.is_set():
                if not self.lock.hold():
                    stop.wait(self.imap.min_backoff.total_seconds())
                    continue
                try:
                    self._session(stop)
                except Exception as exc:  # Whatever broke, the reader must come back: mail keeps arriving.
                    stop.wait(self._failed(exc))
        finally:
            self.lock.dispose()

    def _session(self, stop: threading.Event) -> None:
        client = connect(self.box, self.imap.timeout.total_seconds())
        try:
            while not stop.is_set() and self.lock.hold():
                self.reader.sync(client)
                self._recovered()
                self._wait(client, stop)
        finally:
            disconnect(client)

    def _wait(self, client: IMAPClient, stop: threading.Event) -> None:
        """Until new mail may be there: IDLE (renewed before servers end it) or the poll interval."""
        if not (self.imap.idle and b"IDLE" in client.capabilities()):
            stop.wait(self.imap.poll_interval.total_seconds())
            return
        client.idle()
        renew = time.monotonic() + self.imap.idle_renew.total_seconds()
        try:
            while not stop.is_set() and time.monotonic() < renew:
                responses = client.idle_check(timeout=1)
                if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                    return
        finally:
            client.idle_done()

    def _failed(self, exc: Exception) -> float:
        """Log the first failure of an outage (the rest at debug level); return how long to wait."""
        if isinstance(exc, ImapFault):
            problem = f"{exc.problem}; fix: {exc.fix}"
        elif isinstance(exc, StorageError):
            problem = f"could not store mail ({exc}); nothing was flagged, moved or deleted"
        elif isinstance(exc, (OSError, IMAPClientError)):
            problem = f"connection lost ({type(exc).__name__}: {exc}); what was not stored is read again"
        else:
            log.exception("mailbox %s: unexpected failure", self.box.key)
            problem = f"unexpected {type(exc).__name__}: {exc}"
        delay = min(self.imap.min_backoff * 2 ** self._failures, self.imap.max_backoff).total_seconds()
        self._failures += 1
        if self._outage is None:
            log.warning("mailbox %s: %s; retrying with growing delays (logged once until it works again)",
                        self.box.key, problem)
        else:
            log.debug("mailbox %s: still failing (%s); next try in %.0fs", self.box.key, problem, delay)
        self._outage = problem
        return delay

    def _recovered(self) -> None:
        if self._outage is not None:
            log.info("mailbox %s: reading again after %d failed tries", self.box.key, self._failures)
        self._outage, self._failures = None, 0


class ImapIntake:
    """Every configured mailbox, each read by its own thread in `gateway serve`."""

    def __init__(self, imap: ImapSettings, store: Store, clock: Callable[[], datetime],
                 on_commit: Callable[[], None]) -> None:
        self.readers = [MailboxLoop(box, imap, store, clock, on_commit) for box in imap.mailbox]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=r.run, args=(self._stop,), name=f"imap-{i}", daemon=True)
                         for i, r in enumerate(self.readers)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()
        for reader in self.readers:
            log.info("reading IMAP mailbox %s (after import: %s)", reader.box.key, reader.box.after)

    def stop(self) -> None:
        """Finish the batch in hand (its commit and action), then return."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
