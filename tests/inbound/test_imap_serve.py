"""IMAP intake inside `gateway serve`: mail from a real Dovecot is acknowledged, and on PostgreSQL exactly one
gateway reads a mailbox at a time, another taking over when it dies."""

from __future__ import annotations

import json
import signal
import time

import pytest
from sqlmodel import col, select

from gateway.models import OutboxItem, RawMessage
from tests.conftest import PG_URL
from tests.helpers import make_mail
from tests.inbound.test_imap import folder_state, put
from tests.servers.dovecot import PASSWORD, USER
from tests.servers.gateway import Daemon, wait_for

pytestmark = pytest.mark.integration


def with_mailbox(daemon: Daemon, dovecot, tls_files) -> Daemon:
    daemon.env["GATEWAY_IMAP_MAILBOX"] = json.dumps([{
        "host": "127.0.0.1", "port": dovecot.ssl_port, "security": "tls", "ca_file": tls_files[0], "user": USER,
        "password": PASSWORD}])
    daemon.env["GATEWAY_IMAP_MIN_BACKOFF"] = "1s"
    return daemon


def raw_sources(store) -> list[str]:
    with store.reading() as tx:
        return list(tx.exec(select(RawMessage.source).order_by(col(RawMessage.id))).all())


def test_serve_reads_the_mailbox_and_acknowledges_what_it_finds(database_url, store, relay_sink, dovecot,
                                                               tls_files, tmp_path):
    put(dovecot, make_mail(message_id="<imap-1@customer.example>"))
    daemon = with_mailbox(Daemon(database_url, relay_sink.port, tmp_path / "daemon.log"), dovecot, tls_files)
    daemon.start()
    try:
        wait_for(lambda: len(relay_sink.handler.received) == 1, timeout=30)
        put(dovecot, make_mail(subject="Second question", message_id="<imap-2@customer.example>",
                               body="A different question entirely, about invoices.\n"))
        wait_for(lambda: len(relay_sink.handler.received) == 2, timeout=30)
        wait_for(lambda: all(f == (b"\\Seen",) for f in folder_state(dovecot).values()))
    finally:
        assert daemon.signal(signal.SIGTERM) == 0
    assert raw_sources(store) == ["imap", "imap"]
    log = daemon.log.read_text()
    assert "reading IMAP mailbox" in log and log.rstrip().endswith("stopped")


@pytest.mark.skipif(not PG_URL, reason="one reader per mailbox across gateways needs PostgreSQL "
                                        "(on SQLite only one gateway runs)")
def test_on_postgresql_one_gateway_reads_a_mailbox_and_another_takes_over_when_it_dies(
        database_url, store, relay_sink, dovecot, tls_files, tmp_path):
    first = with_mailbox(Daemon(database_url, relay_sink.port, tmp_path / "first.log"), dovecot, tls_files)
    second = with_mailbox(Daemon(database_url, relay_sink.port, tmp_path / "second.log"), dovecot, tls_files)
    first.start()
    put(dovecot, make_mail(message_id="<one@customer.example>"))
    wait_for(lambda: len(raw_sources(store)) == 1, timeout=30)
    second.start()
    for n in range(5):
        put(dovecot, make_mail(subject=f"Question {n}", message_id=f"<q{n}@customer.example>",
                               body=f"Question {n}: something else each time.\n"))
        time.sleep(0.2)
    wait_for(lambda: len(raw_sources(store)) == 6, timeout=30)
    assert "accepted from IMAP" in first.log.read_text()
    assert "accepted from IMAP" not in second.log.read_text()  # It waited: the first holds the mailbox's lock.
    first.signal(signal.SIGKILL)
    put(dovecot, make_mail(subject="After the crash", message_id="<after@customer.example>",
                           body="Sent while the first gateway was gone.\n"))
    try:
        wait_for(lambda: len(raw_sources(store)) == 7, timeout=30)
        # An acknowledgement the first gateway was sending when it died waits out its lease (relay timeout x 11,
        # 22 s here) before the second sends it: 30 s left too little room on a busy machine.
        wait_for(lambda: len(relay_sink.handler.received) == 7, timeout=90)
    finally:
        second.signal(signal.SIGTERM)
    assert "accepted from IMAP" in second.log.read_text()
    with store.reading() as tx:
        acks = tx.exec(select(OutboxItem).where(OutboxItem.kind == "acknowledgement")).all()
    assert len(acks) == 7 and len(relay_sink.handler.received) == 7
