"""`gateway init`, `conversations list|show` and `export`, through Typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.models import Agent, Scheduled, ScheduledState
from tests.helpers import conversations, deliver, load_raw, make_mail

runner = CliRunner()


@pytest.fixture
def env(database_url, store, monkeypatch) -> dict[str, str]:  # store: the database `gateway init` made
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    return {"GATEWAY_DATABASE_URL": database_url}


@pytest.fixture
def two_conversations(processor, store) -> list[str]:
    deliver(processor, make_mail())
    deliver(processor, make_mail(sender="Bo <bo@other.example>", subject="Invoice wrong", message_id="<i@x>"))
    return [c.ref for c in conversations(store)]


def test_init_writes_the_documented_config_and_creates_the_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert "[smtp]" in (tmp_path / "gateway.toml").read_text()
    assert (tmp_path / "gateway.db").exists()
    again = runner.invoke(app, ["init"])
    assert again.exit_code == 1 and "--force" in again.output


def test_init_makes_the_config_folder_and_refuses_a_folder_as_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init", "--config", "etc/gateway/gateway.toml"]).exit_code == 0
    assert (tmp_path / "etc" / "gateway" / "gateway.db").exists()
    result = runner.invoke(app, ["init", "--config", "etc", "--force"])
    assert result.exit_code == 2 and "etc is a folder; give the file to write" in result.output


def test_list_shows_a_table_of_conversations(env, two_conversations):
    result = runner.invoke(app, ["conversations", "list"], env=env)
    assert result.exit_code == 0, result.output
    assert all(ref in result.output for ref in two_conversations)
    assert "Invoice wrong" in result.output and "REF" in result.output


def test_list_json_is_one_object_per_line(env, two_conversations):
    result = runner.invoke(app, ["conversations", "list", "--json"], env=env)
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert {r["ref"] for r in rows} == set(two_conversations)
    assert set(rows[0]) >= {"ref", "status", "customer", "channel", "subject", "messages", "updated_at"}


def test_show_lists_each_message_with_the_rule_that_placed_it(env, two_conversations):
    result = runner.invoke(app, ["conversations", "show", two_conversations[0].lower(), "--json"], env=env)
    record = json.loads(result.output)
    assert record["ref"] == two_conversations[0]
    assert [(m["direction"], m["kind"], m["placed_by"]) for m in record["messages"]] == [
        ("in", "customer", "new"), ("out", "acknowledgement", None)]
    table = runner.invoke(app, ["conversations", "show", two_conversations[0]], env=env)
    assert "anne@customer.example" in table.output and "new" in table.output


def test_show_prints_bracketed_refs_in_subjects_as_written(env, two_conversations):
    ref = two_conversations[0]
    result = runner.invoke(app, ["conversations", "show", ref], env={**env, "COLUMNS": "200"})
    # Our acknowledgement's subject ends in "[#REF]", which rich would otherwise read as markup and drop.
    assert f"Re: Printer offline [#{ref}]" in result.output


def test_show_of_an_unknown_ref_is_one_line_and_exit_1(env, two_conversations):
    result = runner.invoke(app, ["conversations", "show", "NOPE1234"], env=env)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: no conversation 'NOPE1234'; `gateway conversations list` shows the refs"]


def test_a_bad_option_value_is_a_usage_error_with_exit_2(env):
    result = runner.invoke(app, ["conversations", "list", "--status", "sleeping"], env=env)
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_a_bad_config_is_one_line_and_exit_1(env, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[smtp]\nport = 'x'\n")
    result = runner.invoke(app, ["conversations", "list", "--config", str(bad)], env=env)
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1 and "[smtp] port" in result.output


def test_export_jsonl_writes_every_conversation_with_its_messages(env, two_conversations, tmp_path):
    out = tmp_path / "export.jsonl"
    result = runner.invoke(app, ["export", "--format", "jsonl", str(out)], env=env)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["ref"] for r in records] == two_conversations
    first = records[0]
    assert set(first) >= {"ref", "status", "customer", "channel", "subject", "created_at", "updated_at", "messages"}
    assert set(first["messages"][0]) >= {"message_id", "direction", "kind", "sender", "recipients", "time",
                                         "subject", "text", "placed_by"}
    assert first["messages"][0]["text"].startswith("Hello, my printer")


def test_merge_folds_one_conversation_into_another_and_refuses_nonsense(env, processor, store):
    deliver(processor, make_mail())
    deliver(processor, make_mail(subject="Scanner broken", message_id="<s@x>", body="The scanner too.\n"))
    first, second = [c.ref for c in conversations(store)]
    merged = runner.invoke(app, ["conversations", "merge", first.lower(), second], env=env)
    assert merged.exit_code == 0 and f"merged {first} into {second}" in merged.output
    shown = json.loads(runner.invoke(app, ["conversations", "show", second, "--json"], env=env).output)
    assert len([m for m in shown["messages"] if m["direction"] == "in"]) == 2
    assert any(n["kind"] == "merged" for n in shown["notes"])
    again = runner.invoke(app, ["conversations", "merge", first, second], env=env)
    assert again.exit_code == 1 and "already" in again.output
    missing = runner.invoke(app, ["conversations", "merge", "NOPE2345", second], env=env)
    assert missing.exit_code == 1 and "gateway conversations list" in missing.output


def test_merging_a_waiting_request_into_a_resolved_conversation_reopens_it(env, processor, store):
    with store.transaction() as tx:
        tx.add(Agent(address="bob@example.com", name="Bob"))
    deliver(processor, make_mail())
    deliver(processor, make_mail(subject="Invoice wrong", message_id="<i@x>", body="Charged twice.\n"))
    old, new = [c.ref for c in conversations(store)]
    for args in (["close", old], ["assign", new, "bob"], ["tag", new, "billing"]):
        assert runner.invoke(app, ["conversations", *args], env=env).exit_code == 0
    with store.reading() as tx:
        assert tx.exec(select(Scheduled).where(Scheduled.state == ScheduledState.PENDING)).all(), "a survey is due"
    merged = runner.invoke(app, ["conversations", "merge", new, old], env=env)
    assert merged.exit_code == 0 and f"{old} is open again, as {new} was" in merged.output
    shown = json.loads(runner.invoke(app, ["conversations", "show", old, "--json"], env=env).output)
    assert (shown["status"], shown["assignee"], shown["tags"]) == ("open", "bob@example.com", ["billing"])
    with store.reading() as tx:
        assert tx.exec(select(Scheduled).where(Scheduled.state == ScheduledState.PENDING)).all() == [], \
            "no survey about a conversation that waits for an answer"
    listed = [json.loads(line)["ref"] for line in runner.invoke(app, ["conversations", "list", "--json"],
                                                                  env=env).output.splitlines()]
    assert listed == [old], "the waiting request is still on the list"


def test_merging_into_a_conversation_merged_on_names_where_the_mail_went_and_only_what_changed(env, processor,
                                                                                               store):
    for n, subject in enumerate(("Printer offline", "Scanner broken", "Fax gone")):
        deliver(processor, make_mail(subject=subject, message_id=f"<m{n}@x>", body=f"{subject}, since today.\n"))
    a, b, c = [c.ref for c in conversations(store)]
    assert runner.invoke(app, ["conversations", "merge", b, c], env=env).output.strip() == f"merged {b} into {c}"
    assert runner.invoke(app, ["conversations", "merge", a, b], env=env).output.strip() == f"merged {a} into {c}"


def test_show_names_each_attachment_with_its_size(env, processor, store):
    deliver(processor, load_raw("with_attachment.eml"))
    [conversation] = conversations(store)
    result = runner.invoke(app, ["conversations", "show", conversation.ref], env={**env, "COLUMNS": "200"})
    assert "Attachments: error-report.pdf (" in result.output and " KB)" in result.output
