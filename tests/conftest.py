"""Fixtures: a fresh store per test (SQLite, or PostgreSQL with GATEWAY_TEST_DATABASE_URL), settings,
a fixed clock, the pipeline runtime, a real SMTP listener and a real SMTP sink as the relay."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from sqlalchemy import text
from sqlmodel import SQLModel

from gateway.config import Settings, replace
from gateway.inbound.accept import GroupCommitter
from gateway.inbound.smtp import smtp_factory, tls_context
from gateway.outbound.sender import OutboxSender
from gateway.outbound.transport import MemoryTransport, SmtpTransport
from gateway.pipeline import Processor, Runtime
from gateway.schema import migrate
from gateway.store import Store
from tests.helpers import FixedClock, free_port
from tests.servers.gateway import Daemon

PG_URL = os.environ.get("GATEWAY_TEST_DATABASE_URL")
SECRET = "test-secret"


@pytest.fixture(scope="session")
def _pg_store() -> Iterator[Store | None]:
    if not PG_URL:
        yield None
        return
    store = Store(PG_URL)
    with store.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate(store)
    yield store
    store.dispose()


@pytest.fixture
def database_url(tmp_path, _pg_store) -> str:
    if _pg_store is None:
        return f"sqlite:///{tmp_path / 'gateway.db'}"
    tables = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
    with _pg_store.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return PG_URL  # type: ignore[return-value]


@pytest.fixture(autouse=True)
def _no_daemon_outlives_its_test() -> Iterator[None]:
    # A daemon left running by a failed test would go on reading the shared PostgreSQL database: it would
    # process and send the next tests' mail and block their TRUNCATE.
    yield
    Daemon.kill_all()


@pytest.fixture
def store(database_url) -> Iterator[Store]:
    store = Store(database_url)
    migrate(store)
    yield store
    store.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def settings(database_url) -> Settings:
    return replace(Settings(), database={"url": database_url},
                   mail={"secret": SECRET, "addresses": ("support@example.com", "billing@example.com")})


@pytest.fixture
def runtime(store, settings, clock) -> Runtime:
    return Runtime(store, settings, SECRET, clock)


@pytest.fixture
def processor(runtime) -> Processor:
    return Processor(runtime)


@pytest.fixture
def memory_transport() -> MemoryTransport:
    return MemoryTransport()


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes


class SinkHandler:
    """A real SMTP server standing in for the relay: it keeps what it receives, or answers `reply`."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.reply = "250 2.0.0 Ok"
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        if self.reply.startswith("250"):
            with self.lock:
                self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                              envelope.original_content))
        return self.reply


@pytest.fixture
def relay_sink() -> Iterator[Controller]:
    controller = Controller(SinkHandler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def relay_sender(store, settings, clock, relay_sink) -> OutboxSender:
    relay = replace(settings, relay={"host": "127.0.0.1", "port": relay_sink.port}).relay
    return OutboxSender(store, settings, SmtpTransport(relay), clock)


class GatewayController(Controller):
    """aiosmtpd's Controller serving our own SMTP protocol (handler, limits, 552 text)."""

    def __init__(self, settings: Settings, committer: GroupCommitter) -> None:
        self.settings, self.committer = settings, committer
        super().__init__(None, hostname="127.0.0.1", port=free_port())

    def factory(self) -> SMTP:
        return smtp_factory(self.settings, self.committer, tls_context(self.settings))


@contextmanager
def listening(settings: Settings, store: Store, clock: FixedClock) -> Iterator[GatewayController]:
    """The gateway's real SMTP listener on a loopback port, storing into `store`, for the block's length."""
    committer = GroupCommitter(store, clock, on_commit=lambda: None)
    controller = GatewayController(settings, committer)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()
        committer.close()


@pytest.fixture
def smtp_gateway(settings, store, clock) -> Iterator[GatewayController]:
    with listening(settings, store, clock) as controller:
        yield controller


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (and the key), made by openssl."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(cert), str(key)


@pytest.fixture
def dovecot(tls_files):
    """A real Dovecot for this test on loopback ports (IMAP with STARTTLS, and IMAPS), with user support/s3cret."""
    from tests.servers.dovecot import Dovecot, available

    if not available():
        pytest.skip("Debian's dovecot-imapd is not installed (.ci/run installs it)")
    server = Dovecot(*tls_files).start()
    yield server
    server.close()
