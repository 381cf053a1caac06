"""The processor, sender and scheduler in a process of their own, so their CPU work never slows SMTP answers.

The daemon starts it as `python -m gateway.worker_process`, so it imports only what these workers need. It
reads (settings, secret) pickled on stdin; after that every byte on stdin wakes the processor (mail was
stored), and the end of stdin (the daemon stopped or died) stops it."""

from __future__ import annotations

import ctypes
import logging
import os
import pickle
import signal
import sys
import threading
from typing import BinaryIO

from gateway.clock import utc_now
from gateway.config import Settings
from gateway.heartbeat import INTERVAL, Beats
from gateway.logs import setup_logging
from gateway.outbound.sender import OutboxSender
from gateway.outbound.transport import SmtpTransport
from gateway.pipeline import Processor
from gateway.runtime import Runtime
from gateway.scheduler import Scheduler
from gateway.store import Store
from gateway.worker import Worker

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    # A worker left running by a killed daemon would race the restarted one over the same outbox.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # Not Linux: the loop below notices a new parent within a second.
    if os.getppid() != parent:
        os._exit(0)


def run_workers(settings: Settings, secret: str, wake: threading.Event, stop: threading.Event, parent: int) -> None:
    """Entry point of the worker process: run until `stop` is set, SIGTERM arrives, or the parent dies."""
    _die_with_parent(parent)
    # Storing a sender's mail comes first: on a busy machine the CPU goes to SMTP answers, and what is stored
    # is processed as soon as they leave some (a mail waiting here is safe; a sender kept waiting may give up).
    os.nice(10)
    # Ctrl-C reaches the whole process group; the daemon decides when we stop and tells us through `stop`.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    setup_logging(settings)
    store = Store.for_settings(settings)
    rt = Runtime(store, settings, secret, utc_now)
    outbox_sender = OutboxSender(store, settings, SmtpTransport(settings.relay), utc_now)
    if store.is_sqlite:
        # SQLite has one gateway, so whatever was being sent when it died is nobody's now.
        outbox_sender.release_abandoned()
    sender = Worker("sender", outbox_sender.run_once)
    processor = Worker("processor", Processor(rt, on_processed=sender.wake.set).run_once, wake=wake)
    scheduler = Worker("scheduler", Scheduler(rt).run_once, idle=15.0)
    beats = Beats(store, "workers")
    heartbeat = Worker("heartbeat", beats.run_once, idle=INTERVAL.total_seconds())
    processor.start()
    sender.start()
    scheduler.start()
    heartbeat.start()
    while not stop.wait(1.0):
        if os.getppid() != parent:
            break
    processor.stop()
    scheduler.stop()
    sender.stop()
    heartbeat.stop()
    beats.stopped()
    outbox_sender.transport.close()
    store.dispose()


def _listen(commands: BinaryIO, wake: threading.Event, stop: threading.Event) -> None:
    """Wake the processor for each byte from the daemon; stop when the daemon closes the pipe."""
    while commands.read1(512):
        wake.set()
    stop.set()


def main() -> None:
    commands = sys.stdin.buffer
    settings, secret = pickle.load(commands)
    wake, stop = threading.Event(), threading.Event()
    threading.Thread(target=_listen, args=(commands, wake, stop), name="daemon-pipe", daemon=True).start()
    run_workers(settings, secret, wake, stop, os.getppid())
    # Everything is stopped and written; the pipe's reader thread may still be blocked on stdin, and letting the
    # interpreter finalize under it aborts with "could not acquire lock for <stdin>" (a SIGTERM to the whole
    # process group, as systemd sends, makes us stop before the daemon closes the pipe).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
