"""`gateway queue list | retry | cancel`: the outbox as an admin sees it, against a real SMTP relay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.models import Agent, OutboxStatus
from tests.helpers import deliver, make_mail, outbox_items, run_until_idle

runner = CliRunner()


@pytest.fixture
def queued(processor, store) -> None:
    """An acknowledgement to Anne and a notification to Alice, waiting for the relay."""
    with store.transaction() as tx:
        tx.add(Agent(address="alice@example.com", name="Alice"))
    deliver(processor, make_mail())


def _items(env, *args: str) -> list[dict]:
    result = runner.invoke(app, ["queue", "list", "--json", *args], env=env)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def _fail_everything(relay_sink, relay_sender) -> None:
    relay_sink.handler.reply = "550 5.7.1 relaying denied"
    run_until_idle(relay_sender.run_once)
    relay_sink.handler.reply = "250 2.0.0 Ok"


def test_list_shows_what_waits_with_its_next_attempt(env, queued):
    items = _items(env)
    assert sorted((i["state"], i["kind"], i["recipient"]) for i in items) == [
        ("pending", "acknowledgement", "anne@customer.example"), ("pending", "notification", "alice@example.com")]
    assert set(items[0]) == {"id", "state", "attempts", "kind", "recipient", "conversation", "created_at",
                             "next_attempt_at", "expires_at", "last_error", "message_id"}
    table = runner.invoke(app, ["queue", "list"], env=env).stdout.splitlines()
    assert table[0].split()[:4] == ["ID", "STATE", "KIND", "TO"] and len(table) == 3


def test_retrying_and_failed_mail_show_their_last_error(env, queued, relay_sink, relay_sender, clock):
    relay_sink.handler.reply = "451 4.3.0 try later"
    run_until_idle(relay_sender.run_once)
    retrying = _items(env, "--state", "retrying")
    assert len(retrying) == 2 and retrying[0]["attempts"] == 1 and "451 4.3.0 try later" in retrying[0]["last_error"]
    assert _items(env, "--state", "pending") == []
    clock.advance(days=6)  # Past the lifetime: the next temporary failure is final.
    run_until_idle(relay_sender.run_once)
    failed = _items(env, "--state", "failed")
    assert len(failed) == 2 and "try later" in failed[0]["last_error"]
    assert "451 4.3.0 try later" in runner.invoke(app, ["queue", "list", "--state", "failed"], env=env).stdout


def test_a_long_last_error_is_whole_on_one_line_when_piped(env, queued, relay_sink, relay_sender):
    why = "4.2.0 <anne@customer.example>: Recipient address rejected: User unknown in virtual mailbox table, " \
          "greylisted for 300 seconds"
    relay_sink.handler.reply = f"451 {why}"
    run_until_idle(relay_sender.run_once)
    lines = runner.invoke(app, ["queue", "list"], env={**env, "COLUMNS": "60"}).stdout.splitlines()
    assert len(lines) == 3 and all(line.endswith(why) for line in lines[1:])


def test_retry_sends_a_failed_mail_again_with_the_same_message_id(env, queued, relay_sink, relay_sender, clock,
                                                                  store):
    _fail_everything(relay_sink, relay_sender)
    (ack,) = [i for i in _items(env, "--state", "failed") if i["kind"] == "acknowledgement"]
    result = runner.invoke(app, ["queue", "retry", str(ack["id"])], env=env)
    assert result.exit_code == 0 and result.stdout.startswith("1 mail will be sent")
    clock.now = datetime.now(UTC) + timedelta(seconds=1)  # The CLI set it due on the real clock.
    run_until_idle(relay_sender.run_once)
    (delivered,) = relay_sink.handler.received
    assert f"Message-ID: {ack['message_id']}".encode() in delivered.raw
    (sent,) = [i for i in outbox_items(store) if i.id == ack["id"]]
    assert sent.status == OutboxStatus.SENT and sent.attempts == 2
    record = json.loads(runner.invoke(app, ["conversations", "show", ack["conversation"], "--json"], env=env).stdout)
    assert any(n["kind"] == "delivery_retried" for n in record["notes"])


def test_retry_all_failed(env, queued, relay_sink, relay_sender):
    _fail_everything(relay_sink, relay_sender)
    result = runner.invoke(app, ["queue", "retry", "--all-failed"], env=env)
    assert result.exit_code == 0 and result.stdout.startswith("2 mails will be sent")
    assert {i["state"] for i in _items(env)} == {"retrying"}


def test_cancel_stops_a_mail_for_good_and_says_so_on_the_conversation(env, queued, relay_sink, relay_sender):
    (ack,) = [i for i in _items(env) if i["kind"] == "acknowledgement"]
    (notification,) = [i for i in _items(env) if i["kind"] == "notification"]
    result = runner.invoke(app, ["queue", "cancel", str(ack["id"])], env=env)
    assert result.exit_code == 0 and result.stdout.strip() == f"cancelled outbox {ack['id']}; it will not be sent"
    run_until_idle(relay_sender.run_once)
    assert [r.rcpt_tos for r in relay_sink.handler.received] == [["alice@example.com"]]
    assert [i["state"] for i in _items(env, "--state", "cancelled")] == ["cancelled"]
    record = json.loads(runner.invoke(app, ["conversations", "show", ack["conversation"], "--json"], env=env).stdout)
    assert any(n["kind"] == "delivery_cancelled" for n in record["notes"])
    sent = runner.invoke(app, ["queue", "cancel", str(notification["id"])], env=env)
    assert sent.exit_code == 1 and "only mail not yet sent can be cancelled" in sent.stderr


@pytest.mark.parametrize(("args", "code", "says"), [
    (["queue", "retry"], 2, "give an ID or --all-failed"),
    (["queue", "retry", "1", "--all-failed"], 2, "give an ID or --all-failed"),
    (["queue", "retry", "999"], 1, "no outbox item 999"),
    (["queue", "cancel", "999"], 1, "no outbox item 999"),
    (["queue", "list", "--state", "lost"], 2, "'lost' is not one of"),
    # Past the database's integer: a usage error naming the largest id, not an OverflowError.
    (["queue", "cancel", "99999999999999999999"], 2, "less than or equal to 2147483647"),
    (["queue", "retry", "99999999999999999999"], 2, "less than or equal to 2147483647"),
    (["queue", "list", "--limit", "99999999999999999999"], 2, "less than or equal to 2147483647"),
])
def test_bad_queue_usage_is_one_line(env, queued, args, code, says):
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == code and says in result.stderr and len(result.stderr.strip().splitlines()) == 1
