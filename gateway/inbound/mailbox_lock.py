"""One reader per mailbox: a PostgreSQL session-level advisory lock, released when its holder's connection ends."""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)
# The first key of the two-key form: our lock space, apart from the migration lock (a one-key lock).
_LOCK_CLASS = 7241002


def lock_key(mailbox_key: str) -> int:
    """A stable signed 32-bit key for one mailbox identity."""
    return int.from_bytes(hashlib.sha256(mailbox_key.encode()).digest()[:4], "big", signed=True)


class MailboxLock:
    """`hold()` is True while this process may read the mailbox. On SQLite one gateway runs, so it always is;
    on PostgreSQL the lock lives on a connection of its own, so a holder that dies (or loses the database)
    lets another gateway take over."""

    def __init__(self, database_url: str, mailbox_key: str) -> None:
        self.mailbox_key, self.key = mailbox_key, lock_key(mailbox_key)
        # NullPool: closing the connection really ends the session, and with it the lock.
        self._engine = None if database_url.startswith("sqlite") else create_engine(database_url, poolclass=NullPool)
        self._conn: Connection | None = None

    def hold(self) -> bool:
        """Keep the lock, or try to take it; False while another gateway holds it."""
        if self._engine is None:
            return True
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                self._conn.commit()  # No transaction left open for hours between checks.
                return True
            except SQLAlchemyError:
                log.warning("mailbox %s: lost the database connection that held its lock", self.mailbox_key)
                self.release()
        try:
            conn = self._engine.connect()
            taken = conn.execute(text("SELECT pg_try_advisory_lock(:c, :k)"), {"c": _LOCK_CLASS, "k": self.key}).scalar()
            conn.commit()
        except SQLAlchemyError as exc:
            log.debug("mailbox %s: cannot take its lock now: %s", self.mailbox_key, exc)
            return False
        if not taken:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None

    def dispose(self) -> None:
        self.release()
        if self._engine is not None:
            self._engine.dispose()
