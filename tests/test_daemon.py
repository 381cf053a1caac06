"""`gateway serve` as a real process: clean stops, and no loss or second acknowledgement after SIGKILL."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlmodel import select

from gateway.models import Message, OutboxItem, OutboxStatus, RawMessage, RawState
from gateway.reply_token import ref_from_message_id
from tests.helpers import free_port, make_mail
from tests.servers.gateway import Daemon, wait_for

pytestmark = pytest.mark.integration


def all_sent(store) -> bool:
    with store.transaction() as tx:
        left = tx.exec(select(RawMessage).where(RawMessage.state == RawState.RECEIVED)).all()
        unsent = tx.exec(select(OutboxItem).where(OutboxItem.status != OutboxStatus.SENT)).all()
    return not left and not unsent


def answering_daemon(database_url: str, relay_sink, tmp_path: Path) -> Daemon:  # type: ignore[no-untyped-def]
    """A running daemon that has answered one customer's mail through the relay."""
    daemon = Daemon(database_url, relay_sink.port, tmp_path / "daemon.log")
    daemon.start()
    with smtplib.SMTP("127.0.0.1", daemon.port) as client:
        client.sendmail("anne@customer.example", ["support@example.com"], make_mail())
    wait_for(lambda: len(relay_sink.handler.received) == 1)
    return daemon


def test_serve_answers_mail_and_stops_cleanly_on_sigterm(database_url, store, relay_sink, tmp_path):
    daemon = answering_daemon(database_url, relay_sink, tmp_path)
    assert daemon.signal(signal.SIGTERM) == 0
    log = daemon.log.read_text()
    assert "acknowledgement queued" in log and log.rstrip().endswith("stopped")
    assert "Traceback" not in log


def test_serve_stops_cleanly_when_systemd_signals_its_whole_process_group(database_url, store, relay_sink, tmp_path):
    daemon = answering_daemon(database_url, relay_sink, tmp_path)
    assert daemon.signal_group(signal.SIGTERM) == 0
    time.sleep(0.5)  # The worker process ends on its own; its last words reach the log after the daemon's.
    log = daemon.log.read_text()
    assert log.rstrip().endswith("stopped") and "Fatal Python error" not in log and "Traceback" not in log


def test_after_sigkill_every_accepted_message_is_kept_and_acknowledged_exactly_once(
        database_url, store, relay_sink, tmp_path):
    daemon = Daemon(database_url, relay_sink.port, tmp_path / "daemon.log")
    daemon.start()
    total, accepted, refused = 300, [], []

    def stream() -> None:
        for i in range(total):
            mid = f"<stream-{i}@customer.example>"
            raw = make_mail(sender=f"C{i} <c{i}@customer.example>", subject=f"Request {i}", message_id=mid)
            for _ in range(200):  # An MTA retries a message that got no 250; so do we.
                try:
                    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:
                        client.sendmail(f"c{i}@customer.example", ["support@example.com"], raw)
                    accepted.append(mid)
                    break
                except (OSError, smtplib.SMTPException):
                    refused.append(mid)
                    time.sleep(0.05)

    sender = threading.Thread(target=stream)
    sender.start()
    wait_for(lambda: len(accepted) >= total // 3)
    daemon.signal(signal.SIGKILL)
    killed_at = len(accepted)
    time.sleep(0.3)
    daemon.start()
    sender.join(timeout=120)
    wait_for(lambda: all_sent(store), timeout=120)
    daemon.signal(signal.SIGTERM)

    assert 0 < killed_at < total and len(accepted) == total, "the kill landed mid-stream and every mail got in"
    with store.transaction() as tx:
        stored = {m.message_id: m.conversation_id for m in tx.exec(select(Message).where(Message.direction == "in"))}
    assert set(accepted) <= set(stored) and all(stored[mid] is not None for mid in accepted)

    ack_ids = Counter(message_from_bytes(r.raw)["Message-ID"] for r in relay_sink.handler.received)
    refs = Counter(ref_from_message_id("daemon-secret", mid) for mid in ack_ids)
    # Exactly one acknowledgement per conversation: none lost, none composed twice.
    assert len(refs) == total and set(refs.values()) == {1}
    # Like any MTA, a kill between the relay's 250 and our record of it resends that one item, byte for byte
    # (same Message-ID, so mail clients show it once); it is at most the one item in flight.
    assert sum(n - 1 for n in ack_ids.values()) <= 1


@pytest.mark.parametrize(("env", "says"), [
    ({"GATEWAY_SMTP_TLS_CERT": "/nope/cert.pem", "GATEWAY_SMTP_TLS_KEY": "/nope/key.pem"}, "cannot load them"),
    ({}, "cannot listen on"),
])
def test_serve_refuses_to_start_with_one_line_saying_why(database_url, store, tmp_path, env, says):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1] if not env else free_port()
        done = subprocess.run([sys.executable, "-m", "gateway", "serve"], capture_output=True, timeout=60,
                              env={**os.environ, "GATEWAY_DATABASE_URL": database_url,
                                   "GATEWAY_SMTP_PORT": str(port), "GATEWAY_WEB_PORT": str(free_port()), **env})
    assert done.returncode == 1
    errors = [line for line in done.stderr.decode().splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and says in errors[0] and "Traceback" not in done.stderr.decode()


def test_a_second_serve_on_the_same_sqlite_file_refuses_in_one_line(database_url, store, relay_sink, tmp_path):
    if not database_url.startswith("sqlite"):
        pytest.skip("several gateways on one PostgreSQL database are meant to run together")
    first = Daemon(database_url, relay_sink.port, tmp_path / "first.log")
    first.start()
    try:
        second = subprocess.run([sys.executable, "-m", "gateway", "serve"], capture_output=True, timeout=60,
                                env={**first.env, "GATEWAY_SMTP_PORT": str(free_port())})
    finally:
        first.signal(signal.SIGTERM)
    assert second.returncode == 1
    assert [line for line in second.stderr.decode().splitlines() if line.startswith("error:")] == [
        f"error: another `gateway serve` is running on {database_url.removeprefix('sqlite:///')}; "
        "SQLite allows one gateway (several gateways need PostgreSQL)"]
