"""`gateway serve`: the SMTP listener and IMAP readers here, the workers in a child process, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import multiprocessing
import os
import signal

from gateway.clock import utc_now
from gateway.config import Settings
from gateway.errors import ConfigError
from gateway.heartbeat import Beats
from gateway.inbound.accept import GroupCommitter
from gateway.inbound.imap_loop import ImapIntake
from gateway.outbound.dkim import load_key
from gateway.inbound.smtp import start_smtp
from gateway.store import Store
from gateway.web.app import create_app
from gateway.web.server import WebServer
from gateway.worker_process import run_workers

log = logging.getLogger(__name__)
_spawn = multiprocessing.get_context("spawn")


class WorkerProcess:
    """The child that processes and sends; restarted if it ever dies while we run."""

    def __init__(self, settings: Settings, secret: str) -> None:
        self.settings, self.secret = settings, secret
        self.wake, self.stop_event = _spawn.Event(), _spawn.Event()
        self.process: multiprocessing.process.BaseProcess | None = None

    def start(self) -> None:
        self.process = _spawn.Process(target=run_workers, name="gateway-workers", daemon=False,
                                      args=(self.settings, self.secret, self.wake, self.stop_event, os.getpid()))
        self.process.start()

    def ensure_running(self) -> None:
        if self.process is not None and not self.process.is_alive() and not self.stop_event.is_set():
            log.error("worker process exited with %s; starting it again", self.process.exitcode)
            self.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self.process is not None:
            self.process.join(timeout=60)
            if self.process.is_alive():
                self.process.terminate()


def _sole_server(store: Store) -> int | None:
    """On SQLite, refuse a second `serve`: it would take over the first one's mail in flight."""
    path = store.engine.url.database if store.is_sqlite else None
    if not path or path == ":memory:":
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
    store = Store(settings.database.url)
    _sole_server(store)
    store.migrate()
    secret = settings.mail.secret or store.shared_secret()
    workers = WorkerProcess(settings, secret)
    committer = GroupCommitter(store, utc_now, on_commit=workers.wake.set)
    try:
        web = WebServer(create_app(store, settings, secret, utc_now), settings.web.host, settings.web.port)
        server = await start_smtp(settings, committer)
    except BaseException:
        committer.close()
        raise
    await web.start()
    workers.start()
    # IMAP readers are threads here, like SMTP: their commits wake the worker process.
    intake = ImapIntake(settings.imap, store, utc_now, on_commit=workers.wake.set)
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
