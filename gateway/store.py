"""The database engine, durable transactions and schema migrations."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, event, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, create_engine

from gateway.config import Settings, StorageSettings
from gateway.errors import GatewayError, StorageError
from gateway.models import SettingValue
from gateway.raw_files import RawFiles

log = logging.getLogger(__name__)
T = TypeVar("T")


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # Let SQLAlchemy, not the sqlite3 module, issue BEGIN, so every transaction can be IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL makes every commit durable in WAL mode (NORMAL may lose the last commits on power loss).
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    options = conn.get_execution_options()
    if options.get("read_only"):
        conn.exec_driver_sql("BEGIN")
        return
    # See Store.transaction(durable=False): one later FULL commit syncs the whole WAL, these frames included.
    conn.exec_driver_sql("PRAGMA synchronous=FULL" if options.get("durable", True) else "PRAGMA synchronous=NORMAL")
    # Writers take the lock up front: a deferred transaction that upgrades later can fail with BUSY.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _postgres_begin(conn) -> None:  # type: ignore[no-untyped-def]
    if not conn.get_execution_options().get("durable", True):
        # PostgreSQL flushes the WAL in order: a later synchronous commit makes this one durable too.
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def _lock_file(path: str, database_path: str) -> int:
    """Open a lock file beside the database, creating it. Made by root (`sudo gateway …`), it goes to the
    database's owner, as SQLite does with its -wal and -shm files, so the daemon's user can still open it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    if os.geteuid() == 0:
        with contextlib.suppress(OSError):  # No database file yet: whoever creates it owns both.
            owner = os.stat(database_path)
            os.fchown(fd, owner.st_uid, owner.st_gid)
    return fd


class WriterGate:
    """SQLite's writers, in every process and thread, queue here: a kernel lock wakes the next writer at once,
    where SQLite's own busy handler sleeps and polls and so keeps losing to a busy writer."""

    def __init__(self, database_path: str) -> None:
        self._database = database_path
        self._threads = threading.Lock()
        # Threads of this process waiting for `_threads`, so a long job can let them go first.
        self._queued = 0
        self._turns = threading.Condition()
        self._path = database_path + ".writelock"
        self._fd: int | None = None
        # A writer holds this shared while it waits for the gate, so a long job can tell that someone waits.
        self._waiting_path = database_path + ".writewait"
        self._waiting_fd: int | None = None

    def _files(self) -> tuple[int, int]:
        if self._fd is None or self._waiting_fd is None:
            self._fd = _lock_file(self._path, self._database)
            self._waiting_fd = _lock_file(self._waiting_path, self._database)
        return self._fd, self._waiting_fd

    def __enter__(self) -> None:
        with self._turns:
            self._queued += 1
        try:
            self._threads.acquire()
        finally:
            with self._turns:
                self._queued -= 1
                self._turns.notify_all()
        try:
            gate, waiting = self._files()
            fcntl.flock(waiting, fcntl.LOCK_SH)
            try:
                fcntl.flock(gate, fcntl.LOCK_EX)
            finally:
                fcntl.flock(waiting, fcntl.LOCK_UN)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)  # type: ignore[arg-type]
        self._threads.release()

    def anyone_waiting(self) -> bool:
        """Whether a writer, in this process or another, waits for the gate now (called by its holder)."""
        if self._queued:
            return True
        _, waiting = self._files()
        try:
            fcntl.flock(waiting, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True  # A waiter holds it shared.
        fcntl.flock(waiting, fcntl.LOCK_UN)
        return False

    def give_way(self) -> None:
        """Between two transactions of a long job: return once every writer already waiting, in this process or
        another, has had the gate."""
        with self._turns:
            self._turns.wait_for(lambda: self._queued == 0)
        with self._threads:
            _, waiting = self._files()
            # Exclusive is granted only when no waiter holds it shared, i.e. each has taken the gate by now.
            fcntl.flock(waiting, fcntl.LOCK_EX)
            fcntl.flock(waiting, fcntl.LOCK_UN)


def once_per_batch(tx: Session, key: str, load: Callable[[], T]) -> T:
    """A value read once per batch of work: the processor shares `tx.info` across one batch's transactions,
    so the roster or a template is not read again for every message (changes show from the next batch)."""
    if key not in tx.info:
        tx.info[key] = load()
    return tx.info[key]  # type: ignore[no-any-return]


def hold_until_commit(tx: Session, key: str) -> bool:
    """Take a PostgreSQL lock named `key` until the transaction ends; False if another process holds it.
    Always True on SQLite, whose single writer already serialises everything."""
    if tx.get_bind().dialect.name != "postgresql":
        return True
    return bool(tx.execute(text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}).scalar())


class Store:
    """One database; `transaction()` commits durably or raises StorageError."""

    def __init__(self, url: str, storage: StorageSettings | None = None) -> None:
        self.url = url
        storage = storage or StorageSettings()
        # Files are read whatever the mode: rows stored as files stay readable after a switch back.
        self.raw_dir = storage.raw_dir
        self.raw_files = RawFiles(storage.raw_dir)
        self.raw_in_files = storage.raw == "files"
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine: Engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
            event.listen(self.engine, "begin", _postgres_begin)
        path = self.engine.url.database if self.is_sqlite else None
        # The SQLite database's file; None for PostgreSQL or an in-memory database.
        self.file = path if path and path != ":memory:" else None
        self._gate = WriterGate(self.file) if self.file else None
        self._write_lock: contextlib.AbstractContextManager[object] = self._gate or contextlib.nullcontext()
        self._reader = self.engine.execution_options(read_only=True)
        self._unsynced = self.engine.execution_options(durable=False)

    @classmethod
    def for_settings(cls, settings: Settings) -> Store:
        return cls(settings.database.url, settings.storage)

    def not_created(self) -> Path | None:
        """The SQLite file this store would create on first use, while it does not exist; None otherwise."""
        return Path(self.file).resolve() if self.file and not Path(self.file).exists() else None

    def raw_of(self, data: bytes, spool: str) -> bytes:
        """A stored message's bytes: its row's, or its file's ([storage] raw = "files")."""
        if not spool:
            return data
        try:
            return self.raw_files.get(spool)
        except FileNotFoundError:
            raise GatewayError(f"raw mail file {spool[:12]}… is not under [storage] raw_dir "
                               f"({self.raw_dir or 'not set'}); set raw_dir to the folder that holds the raw files"
                               ) from None

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[Session]:
        """A session whose work is committed on exit, rolled back on error.

        durable=False skips the flush to disk at commit, for work that can be redone from what is durable
        (processing stored mail); anything that leaves the gateway must follow a durable commit."""
        with self._write_lock, Session(self.engine if durable else self._unsynced, expire_on_commit=False) as tx:
            try:
                yield tx
                tx.commit()
            except OperationalError as exc:
                tx.rollback()
                raise StorageError(str(exc).splitlines()[0]) from exc
            except BaseException:
                tx.rollback()
                raise

    def give_way(self) -> None:
        """Let writers waiting for SQLite's single write lock go before our next transaction (PostgreSQL: none)."""
        if self._gate is not None:
            self._gate.give_way()

    def anyone_waiting(self) -> bool:
        """Whether another writer waits for SQLite's write lock that this process holds; on PostgreSQL, which
        shows no such thing, always True, so a long job keeps its transactions short."""
        return self._gate is None or self._gate.anyone_waiting()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only: it never waits for, or blocks, a writer."""
        # Closing ends the transaction without expiring what was loaded (a rollback would).
        with Session(self._reader, expire_on_commit=False) as tx:
            yield tx

    def shared_secret(self) -> str:
        """The token secret kept in the database, created once by whichever instance comes first."""
        try:
            with self.transaction() as tx:
                row = tx.get(SettingValue, "secret")
                if row is None:
                    row = SettingValue(key="secret", value=secrets.token_hex(32))
                    tx.add(row)
                return row.value
        except IntegrityError:  # Another instance created it at the same moment: use theirs.
            with self.reading() as tx:
                return tx.get(SettingValue, "secret").value  # type: ignore[union-attr]

    def dispose(self) -> None:
        self.engine.dispose()
