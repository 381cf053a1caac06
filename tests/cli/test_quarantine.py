"""`gateway quarantine list | show | release | drop`: what the gateway refused to act on, and an admin's last word."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import gateway.pipeline
from gateway.cli import app
from gateway.models import Agent, RawMessage
from gateway.reply_token import agent_address
from tests.conftest import SECRET
from tests.helpers import conversations, deliver, make_mail, outbox_items

runner = CliRunner()


def _listed(env, *args: str) -> list[dict]:
    result = runner.invoke(app, ["quarantine", "list", "--json", *args], env=env)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_a_spoofed_agent_reply_shows_in_the_quarantine_with_its_reason(processor, store, env) -> None:
    with store.transaction() as tx:
        tx.add(Agent(address="alice@example.com", name="Alice"))
    token = agent_address(SECRET, "support@example.com", "K7Q2M9XA", "alice@example.com")
    deliver(processor, make_mail(sender="Mallory <mallory@evil.example>", to=token, message_id="<m@evil>"))
    (row,) = _listed(env)
    assert row["stage"] == "authenticate" and "alice@example.com's reply address" in row["reason"]
    shown = runner.invoke(app, ["quarantine", "show", str(row["id"])], env=env)
    assert shown.exit_code == 0 and "mallory@evil.example" in shown.output and "printer" in shown.output
    missing = runner.invoke(app, ["quarantine", "show", "999"], env=env)
    assert missing.exit_code == 1 and "gateway quarantine list" in missing.output
    # Released unchanged, the same proof fails again: one line, and it stays in the quarantine.
    again = runner.invoke(app, ["quarantine", "release", str(row["id"])], env=env)
    assert again.exit_code == 1 and again.stderr.startswith(f"error: mail {row['id']} was refused again: ")
    assert [r["id"] for r in _listed(env)] == [row["id"]]


def test_release_after_a_config_fix_processes_the_mail_once(processor, store, env) -> None:
    # billing@ was one of our own addresses, so a mail from it looked like a loop.
    raw_id = deliver(processor, make_mail(sender="Billing Dept <billing@example.com>", message_id="<loop@x>"),
                     mail_from="billing@example.com")
    assert _listed(env)[0]["reason"].startswith("loop")
    fixed = {**env, "GATEWAY_MAIL_ADDRESSES": "support@example.com"}
    result = runner.invoke(app, ["quarantine", "release", str(raw_id)], env=fixed)
    assert result.exit_code == 0, result.output
    (conversation,) = conversations(store)
    assert result.stdout.strip() == f"released mail {raw_id}: processed into {conversation.ref}"
    assert _listed(fixed) == []
    assert [i.kind for i in outbox_items(store)] == ["acknowledgement"]
    again = runner.invoke(app, ["quarantine", "release", str(raw_id)], env=fixed)
    assert again.exit_code == 1 and len(outbox_items(store)) == 1


def test_a_processing_error_is_released_once_the_bug_is_gone(processor, store, env, monkeypatch) -> None:
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug in this version")

    monkeypatch.setattr(gateway.pipeline, "process_in", broken)
    raw_id = deliver(processor, make_mail())
    (row,) = _listed(env)
    assert row["stage"] == "process" and "a bug in this version" in row["reason"]
    monkeypatch.undo()
    result = runner.invoke(app, ["quarantine", "release", str(raw_id)], env=env)
    assert result.exit_code == 0, result.output
    assert len(conversations(store)) == 1


def test_drop_keeps_a_record_of_who_dropped_it_and_release_can_still_undo_it(processor, store, env) -> None:
    raw_id = deliver(processor, make_mail(sender="Billing <billing@example.com>", message_id="<loop@x>"),
                     mail_from="billing@example.com")
    result = runner.invoke(app, ["quarantine", "drop", str(raw_id)], env=env)
    assert result.exit_code == 0 and "quarantine list --dropped" in result.stdout
    assert _listed(env) == []
    (dropped,) = _listed(env, "--dropped")
    assert dropped["id"] == raw_id and dropped["reason"].startswith("loop: ")
    assert "[dropped by " in dropped["reason"] and "(admin) at " in dropped["reason"]
    with store.reading() as tx:
        assert tx.get(RawMessage, raw_id).raw  # The bytes stay.
    shown = runner.invoke(app, ["quarantine", "show", str(raw_id), "--json"], env=env)
    assert json.loads(shown.stdout)["state"] == "dropped"
    twice = runner.invoke(app, ["quarantine", "drop", str(raw_id)], env=env)
    assert twice.exit_code == 1 and "no quarantined mail" in twice.stderr
    fixed = {**env, "GATEWAY_MAIL_ADDRESSES": "support@example.com"}
    assert runner.invoke(app, ["quarantine", "release", str(raw_id)], env=fixed).exit_code == 0
    assert len(conversations(store)) == 1


def test_the_quarantine_table_and_an_empty_one(processor, env) -> None:
    empty = runner.invoke(app, ["quarantine", "list"], env=env)
    assert empty.stdout.strip() == "the quarantine is empty"
    deliver(processor, make_mail(sender="Billing <billing@example.com>", message_id="<loop@x>"),
            mail_from="billing@example.com")
    table = runner.invoke(app, ["quarantine", "list"], env=env)
    header, row = table.stdout.splitlines()
    assert header.split()[:4] == ["ID", "RECEIVED", "(UTC)", "ENVELOPE"] and "loop" in row
