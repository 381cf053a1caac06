"""`gateway serve`: the SMTP listener and IMAP readers here, the workers in a child process, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import pickle
import signal
import subprocess
import sys

from gateway.clock import utc_now
from gateway.config import Settings
from gateway.errors import ConfigError
from gateway.heartbeat import Beats
from gateway.inbound.accept import GroupCommitter
from gateway.inbound.imap_loop import ImapIntake
from gateway.outbound.dkim import load_key
from gateway.inbound.smtp import start_smtp
from gateway.schema import migrate
from gateway.store import Store
from gateway.web.app import create_app
from gateway.web.server import WebServer

log = logging.getLogger(__name__)


class WorkerProcess:
    """The child that processes and sends (gateway/worker_process.py); restarted if it ever dies while we run."""

    def __init__(self, settings: Settings, secret: str) -> None:
        self.settings, self.secret = settings, secret
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = False

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "gateway.worker_process"], stdin=subprocess.PIPE)
        assert self.process.stdin is not None
        self.process.stdin.write(pickle.dumps((self.settings, self.secret)))
        self.process.stdin.flush()
        # A wake-up must never block a commit: when the pipe is full, the worker has wake-ups enough.
        os.set_blocking(self.process.stdin.fileno(), False)

    def wake(self) -> None:
        """Tell the worker that mail was stored (called from the commit threads)."""
        if self.process is not None and self.process.stdin is not None:
            try:
                os.write(self.process.stdin.fileno(), b"\n")
            except (BlockingIOError, BrokenPipeError, ValueError):
                pass  # Full: a wake-up is pending anyway. Gone: ensure_running() starts a new worker.

    def ensure_running(self) -> None:
        if self.process is not None and self.process.poll() is not None and not self._stopping:
            log.error("worker process exited with %s; starting it again", self.process.returncode)
            self.start()

    def stop(self) -> None:
        """Close its pipe (it finishes the items in hand and exits); kill it only if it hangs."""
        self._stopping = True
        if self.process is None:
            return
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _sole_server(store: Store) -> int | None:
    """On SQLite, refuse a second `serve`: it would take over the first one's mail in flight."""
    path = store.file
    if path is None:
        return None
    fd = os.open(path + ".serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(f"another `gateway serve` is running on {path}; SQLite allows one gateway "
                          "(several gateways need PostgreSQL)") from None
    return fd  # Held until this process ends, however it ends.


async def _serve(settings: Settings) -> None:
    if settings.dkim.private_key:
        load_key(settings.dkim)  # A key that cannot sign is one line now, not unsigned mail later.
    store = Store.for_settings(settings)
    _sole_server(store)
    migrate(store)
    secret = settings.mail.secret or store.shared_secret()
    workers = WorkerProcess(settings, secret)
    committer = GroupCommitter(store, utc_now, on_commit=workers.wake)
    try:
        web = WebServer(create_app(store, settings, secret, utc_now), settings.web.host, settings.web.port)
        server = await start_smtp(settings, committer)
    except BaseException:
        committer.close()
        raise
    await web.start()
    workers.start()
    # IMAP readers are threads here, like SMTP: their commits wake the worker process.
    intake = ImapIntake(settings.imap, store, utc_now, on_commit=workers.wake)
    intake.start()
    log.info("listening for SMTP on %s:%d; relay %s:%d; database %s", settings.smtp.host, settings.smtp.port,
             settings.relay.host, settings.relay.port, store.engine.url.render_as_string(hide_password=True))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    beating = asyncio.create_task(Beats(store, "serve", f"SMTP {settings.smtp.host}:{settings.smtp.port}").run(stop))
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            workers.ensure_running()
    log.info("stopping: no new connections; finishing the messages in hand")
    server.close()
    await asyncio.gather(server.wait_closed(), asyncio.to_thread(intake.stop))
    await web.stop()
    committer.close()
    workers.stop()
    await beating
    store.dispose()
    log.info("stopped")


def serve(settings: Settings) -> None:
    asyncio.run(_serve(settings))
