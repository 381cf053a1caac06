"""`gateway serve`: the SMTP listener and the workers, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime

from gateway.config import Settings
from gateway.inbound.accept import GroupCommitter
from gateway.inbound.smtp import start_smtp
from gateway.outbound.sender import OutboxSender
from gateway.outbound.transport import SmtpTransport
from gateway.pipeline import Processor, Runtime
from gateway.store import Store
from gateway.worker import Worker

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def open_runtime(settings: Settings) -> Runtime:
    """The store, migrated, and the secret every instance shares."""
    store = Store(settings.database.url)
    store.migrate()
    return Runtime(store, settings, settings.mail.secret or store.shared_secret(), utc_now)


async def _serve(settings: Settings) -> None:
    rt = open_runtime(settings)
    outbox_sender = OutboxSender(rt.store, settings, SmtpTransport(settings.relay), utc_now)
    if rt.store.is_sqlite:
        # SQLite has one gateway process, so whatever it was sending when it died is nobody's now.
        outbox_sender.release_abandoned()
    sender = Worker("sender", outbox_sender.run_once)
    processor = Worker("processor", Processor(rt, on_processed=sender.wake.set).run_once)
    committer = GroupCommitter(rt.store, utc_now, on_commit=processor.wake.set)
    processor.start()
    sender.start()
    server = await start_smtp(settings, committer)
    log.info("listening for SMTP on %s:%d; relay %s:%d; database %s", settings.smtp.host, settings.smtp.port,
             settings.relay.host, settings.relay.port, rt.store.engine.url.render_as_string(hide_password=True))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping: no new connections; finishing the messages in hand")
    server.close()
    await server.wait_closed()
    committer.close()
    processor.stop()
    sender.stop()
    rt.store.dispose()
    log.info("stopped")


def serve(settings: Settings) -> None:
    asyncio.run(_serve(settings))
