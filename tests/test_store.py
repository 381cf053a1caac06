"""The store's writer gate: SQLite's writers queue in the kernel, and a long job gives way to a waiting one."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import pytest

from gateway.store import WriterGate


def _someone_waits(path: Path) -> bool:
    return _locked(str(path) + ".writewait")


def _gate_held(path: Path) -> bool:
    return _locked(str(path) + ".writelock")


def _locked(path: str) -> bool:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_give_way_returns_only_once_a_waiting_writer_holds_the_gate(tmp_path: Path) -> None:
    db = tmp_path / "gateway.db"
    worker, smtp = WriterGate(str(db)), WriterGate(str(db))  # two open files: as two processes would be
    # Ten rounds: a give_way that returned too early is caught before the waiter takes the gate in about half of
    # them (the waiter may win the race to the gate anyway), so all ten missing it is a chance of 1 in 1,000.
    for _ in range(10):
        smtp_in = threading.Event()

        def commit() -> None:
            with smtp:
                smtp_in.set()
                time.sleep(0.05)

        with worker:
            committer = threading.Thread(target=commit)
            committer.start()
            while not _someone_waits(db):
                time.sleep(0.001)
            assert not smtp_in.is_set()
        worker.give_way()
        # The committer holds the gate now (it may not have reached `set` yet), or has had it already.
        assert _gate_held(db) or smtp_in.is_set()
        committer.join()


def test_give_way_does_not_wait_when_nobody_waits(tmp_path: Path) -> None:
    gate = WriterGate(str(tmp_path / "gateway.db"))
    with gate:
        pass
    job = threading.Thread(target=gate.give_way)
    job.start()
    job.join(timeout=10)
    assert not job.is_alive()


def test_give_way_lets_a_thread_of_the_same_process_go_first(tmp_path: Path) -> None:
    gate = WriterGate(str(tmp_path / "gateway.db"))  # the processor and the sender share one per process
    sender_in = threading.Event()

    def send() -> None:
        with gate:
            sender_in.set()

    with gate:
        sender = threading.Thread(target=send)
        sender.start()
        while not gate._queued:  # noqa: SLF001 - the only way to know the thread is waiting
            time.sleep(0.001)
    gate.give_way()
    assert sender_in.is_set()
    sender.join()


def test_anyone_waiting_sees_a_writer_of_another_process_or_of_this_one(tmp_path: Path) -> None:
    db = tmp_path / "gateway.db"
    worker, smtp = WriterGate(str(db)), WriterGate(str(db))
    with worker:
        assert not worker.anyone_waiting()
        committer = threading.Thread(target=lambda: smtp.__enter__() or smtp.__exit__())
        committer.start()
        while not _someone_waits(db):
            time.sleep(0.001)
        assert worker.anyone_waiting()
    committer.join()
    sender = threading.Thread(target=lambda: worker.__enter__() or worker.__exit__())
    with worker:
        sender.start()
        while not worker._queued:  # noqa: SLF001 - the only way to know the thread is waiting
            time.sleep(0.001)
        assert worker.anyone_waiting()
    sender.join()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make files for another user")
def test_lock_files_made_by_root_belong_to_the_databases_owner(tmp_path: Path) -> None:
    db = tmp_path / "gateway.db"
    db.write_bytes(b"")
    os.chown(db, 65534, 65534)  # the daemon's own user; an admin runs `sudo gateway …` first
    with WriterGate(str(db)):
        pass
    for lock in (tmp_path / "gateway.db.writelock", tmp_path / "gateway.db.writewait"):
        assert (lock.stat().st_uid, lock.stat().st_gid) == (65534, 65534)
