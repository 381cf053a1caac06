"""`gateway status`: the daemon's heartbeats, queue depths, the oldest unprocessed mail and the last error."""

from __future__ import annotations

import json
import logging
import signal
import time
from datetime import timedelta

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.clock import utc_now
from gateway.heartbeat import Beats, processes
from gateway.inbound.accept import Envelope, accept
from gateway.models import Heartbeat, Note, OutboxItem, RawMessage, RawState
from gateway.status import gather_status
from tests.helpers import deliver, make_mail
from tests.servers.gateway import Daemon

runner = CliRunner()


@pytest.fixture
def env(database_url, store, monkeypatch) -> dict[str, str]:  # store: the database `gateway init` made
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    return {"GATEWAY_DATABASE_URL": database_url}


def test_status_without_a_daemon_says_not_running_and_exits_3(env, store):
    result = runner.invoke(app, ["status"], env=env)
    assert result.exit_code == 3
    assert result.output.splitlines()[0] == "daemon: NOT RUNNING"
    assert "start one with `gateway serve`" in result.output and "last error: none" in result.output


def test_status_counts_queues_waiting_conversations_and_names_the_newest_problem(env, store, processor, clock):
    deliver(processor, make_mail())  # a conversation waiting for its first reply, an acknowledgement to send
    clock.advance(minutes=5)
    accept(make_mail(message_id="<later@x>"), Envelope("anne@customer.example", ("support@example.com",), "", "smtp"),
           store=store, now=clock())
    with store.transaction() as tx:
        tx.add(RawMessage(received_at=clock(), source="smtp", raw=b"x", state=RawState.QUARANTINED, stage="process",
                          reason="ValueError('bad')", processed_at=clock() - timedelta(minutes=1)))
        conversation_id = tx.exec(select(OutboxItem.conversation_id)).first()
        tx.add(Note(conversation_id=conversation_id, created_at=clock(), kind="delivery_failed",
                    body="Delivery of <a@b> to anne@customer.example refused: 550 no such user"))
    with store.reading() as tx:
        found = gather_status(tx, clock())
    assert (found.unprocessed, found.oldest_unprocessed, found.outbox_due, found.quarantined) == (1, clock(), 1, 1)
    assert (found.waiting_first_reply, found.running) == (1, False)
    assert found.last_error is not None and found.last_error.where == "delivery" and "550" in found.last_error.text
    data = json.loads(runner.invoke(app, ["status", "--json"], env=env).output)
    assert data["running"] is False and data["unprocessed"] == 1 and data["outbox_due"] == 1
    assert set(data) >= {"processes", "oldest_unprocessed", "outbox_retrying", "outbox_failed",
                         "waiting_first_reply", "oldest_waiting", "last_error"}


def test_heartbeats_say_running_then_gone_when_silent_or_stopped_when_stopped(store, clock):
    beats = Beats(store, "workers", clock=clock)
    beats.run_once()
    logging.getLogger("gateway.pipeline").error("raw=7 quarantined at processing")
    clock.advance(seconds=10)
    beats.run_once()
    with store.reading() as tx:
        (seen,) = processes(tx, clock())
        assert seen.state == "running" and seen.last_error == "raw=7 quarantined at processing"
        assert [p.state for p in processes(tx, clock() + timedelta(minutes=1))] == ["gone"]
    beats.stopped()
    with store.reading() as tx:
        assert [p.state for p in processes(tx, clock())] == ["stopped"]
        assert len(tx.exec(select(Heartbeat)).all()) == 1


@pytest.mark.integration
def test_status_of_a_real_daemon_running_and_after_sigterm(database_url, store, relay_sink, tmp_path, monkeypatch):
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    daemon = Daemon(database_url, relay_sink.port, tmp_path / "daemon.log")
    daemon.start()
    env = {"GATEWAY_DATABASE_URL": database_url}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        result = runner.invoke(app, ["status", "--json"], env=env)
        data = json.loads(result.output)
        if {p["role"] for p in data["processes"] if p["state"] == "running"} == {"serve", "workers"}:
            break
        time.sleep(0.2)
    assert result.exit_code == 0, result.output
    serve = next(p for p in data["processes"] if p["role"] == "serve")
    assert serve["pid"] == daemon.process.pid and serve["detail"] == f"SMTP 127.0.0.1:{daemon.port}"
    assert daemon.signal(signal.SIGTERM) == 0
    result = runner.invoke(app, ["status"], env=env)
    assert result.exit_code == 3 and "daemon: NOT RUNNING" in result.output
    assert "serve pid" in result.output and "stopped cleanly" in result.output
    with store.reading() as tx:
        assert {p.state for p in processes(tx, utc_now())} == {"stopped"}


@pytest.mark.parametrize("command", [["status", "--since", "1d"], ["doctor", "--verbose"]])
def test_an_unknown_option_is_a_usage_error_with_exit_2(env, command):
    result = runner.invoke(app, command, env=env)
    assert result.exit_code == 2 and "No such option" in result.output and "Traceback" not in result.output
