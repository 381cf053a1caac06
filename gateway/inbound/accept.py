"""Store raw mail and its envelope durably before anyone is told it was received."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from gateway.charset import clean
from gateway.errors import StorageError
from gateway.models import RawMessage
from gateway.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Envelope:
    mail_from: str | None
    rcpt_tos: tuple[str, ...]
    peer: str
    source: str


def _text(value: str) -> str:
    """Envelope text as a database keeps it: raw 8-bit bytes decoded, NULs dropped."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return clean(value)[:998]


def _row(raw: bytes, spool: str, envelope: Envelope, now: datetime) -> RawMessage:
    return RawMessage(received_at=now, source=envelope.source,
                      mail_from=None if envelope.mail_from is None else _text(envelope.mail_from),
                      rcpt_tos=[_text(r) for r in envelope.rcpt_tos], peer=_text(envelope.peer),
                      size=len(raw), raw=b"" if spool else raw, spool=spool)


def accept(raw: bytes, envelope: Envelope, *, store: Store, now: datetime) -> int:
    """Commit one message; return its raw id. Raises StorageError when it could not be stored."""
    return accept_many([(raw, envelope)], store=store, now=now)[0]


def accept_many(items: list[tuple[bytes, Envelope]], *, store: Store, now: datetime,
                then: Callable[[Session], None] | None = None) -> list[int]:
    """Commit several messages in one transaction (one fsync), in order; `then` adds to the same commit
    (IMAP records how far it has read, so a message is stored and counted as read together)."""
    try:
        # Files first, on disk before the commit that names them; a failed commit leaves a file nobody names.
        spools = store.raw_files.put_many([raw for raw, _ in items]) if store.raw_in_files else [""] * len(items)
        with store.transaction() as tx:
            rows = [_row(raw, spool, envelope, now) for (raw, envelope), spool in zip(items, spools)]
            tx.add_all(rows)
            tx.flush()
            if then is not None:
                then(tx)
            return [row.id for row in rows]  # type: ignore[misc]
    except StorageError:
        raise
    except Exception as exc:  # Any database failure means "not stored": the sender must retry.
        raise StorageError(f"{type(exc).__name__}: {exc}") from exc


class GroupCommitter:
    """Batches concurrent accepts into one commit, so many SMTP sessions share each fsync."""

    def __init__(self, store: Store, clock: Callable[[], datetime], on_commit: Callable[[], None],
                 max_batch: int = 256) -> None:
        self._store, self._clock, self._on_commit, self._max = store, clock, on_commit, max_batch
        self._queue: queue.Queue[tuple[bytes, Envelope, Future[int]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def submit(self, raw: bytes, envelope: Envelope) -> Future[int]:
        future: Future[int] = Future()
        self._queue.put((raw, envelope, future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            batch = [first]
            while len(batch) < self._max and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            try:
                self._commit(batch)
            except Exception as exc:  # This thread is the only way in: it must outlive any one batch.
                log.exception("group commit failed; its senders get 451 and retry")
                for *_, future in batch:
                    _answer(future, error=StorageError(f"{type(exc).__name__}: {exc}"))
            self._on_commit()

    def _commit(self, batch: list[tuple[bytes, Envelope, Future[int]]]) -> None:
        try:
            ids = accept_many([(raw, env) for raw, env, _ in batch], store=self._store, now=self._clock())
        except StorageError:
            # One message the store refuses must not cost the others their 250: try each alone.
            for raw, env, future in batch:
                try:
                    _answer(future, accept(raw, env, store=self._store, now=self._clock()))
                except StorageError as exc:
                    _answer(future, error=exc)
        else:
            for (*_, future), raw_id in zip(batch, ids):
                _answer(future, raw_id)


def _answer(future: Future[int], raw_id: int = 0, error: Exception | None = None) -> None:
    """Settle a sender's wait, unless it is over already: a client that hung up cancelled it (its mail is stored
    all the same, and a resend is de-duplicated)."""
    if future.done():
        return
    with contextlib.suppress(InvalidStateError):  # Cancelled between the check and here.
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(raw_id)
