"""`gateway agents add | list | remove` through Typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.models import Agent, Conversation
from tests.helpers import deliver, make_mail

runner = CliRunner()


@pytest.fixture
def env(database_url, store, monkeypatch) -> dict[str, str]:  # store: the database `gateway init` made
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    return {"GATEWAY_DATABASE_URL": database_url}


def agents(env: dict[str, str]) -> list[dict[str, object]]:
    result = runner.invoke(app, ["agents", "list", "--json"], env=env)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_add_list_and_remove_an_agent(env) -> None:
    added = runner.invoke(app, ["agents", "add", "Alice@Example.com", "--name", "Alice", "--tier", "2"], env=env)
    assert added.exit_code == 0 and "added agent alice@example.com (Alice), tier 2" in added.output
    assert agents(env) == [{"address": "alice@example.com", "name": "Alice", "tier": 2}]
    table = runner.invoke(app, ["agents", "list"], env=env)
    assert "alice@example.com" in table.output and "Alice" in table.output
    removed = runner.invoke(app, ["agents", "remove", "alice@example.com"], env=env)
    assert removed.exit_code == 0 and agents(env) == []


def test_adding_again_updates_name_and_tier(env) -> None:
    runner.invoke(app, ["agents", "add", "bob@example.com", "--name", "Bob"], env=env)
    again = runner.invoke(app, ["agents", "add", "bob@example.com", "--tier", "3"], env=env)
    assert "updated agent bob@example.com (Bob), tier 3" in again.output
    renamed = runner.invoke(app, ["agents", "add", "bob@example.com", "--name", "Robert"], env=env)
    assert "updated agent bob@example.com (Robert), tier 3" in renamed.output, "the tier is kept"
    assert agents(env) == [{"address": "bob@example.com", "name": "Robert", "tier": 3}]


@pytest.mark.parametrize("args, message", [
    (["agents", "add", "not-an-address"], "is not a plain ASCII mail address"),
    (["agents", "add", "jörg@example.com"], "is not a plain ASCII mail address"),
    (["agents", "add", "<carol@example.com>"], "is not a plain ASCII mail address"),
    (["agents", "add", "support@example.com"], "is one of our support addresses"),
    (["agents", "remove", "nobody@example.com"], "no agent nobody@example.com"),
])
def test_bad_arguments_get_one_line_saying_what_is_wrong(env, args, message) -> None:
    result = runner.invoke(app, args, env=env)
    assert result.exit_code in (1, 2)
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_removing_an_agent_names_the_open_conversations_left_to_nobody(env, processor, store) -> None:
    runner.invoke(app, ["agents", "add", "bob@example.com"], env=env)
    refs = []
    for n in (1, 2, 3):
        deliver(processor, make_mail(sender=f"C{n} <c{n}@customer.example>", message_id=f"<q{n}@x>"))
    with store.transaction() as tx:
        bob = tx.exec(select(Agent)).one()
        for conversation, status in zip(tx.exec(select(Conversation).order_by(col(Conversation.id))).all(),
                                        ("open", "pending", "resolved")):
            conversation.assignee_id, conversation.status = bob.id, status
            refs.append(conversation.ref)
    removed = runner.invoke(app, ["agents", "remove", "bob@example.com"], env=env)
    assert removed.output == (f"removed agent bob@example.com; 2 open conversations assigned to them now to "
                              f"nobody: {refs[0]}, {refs[1]}\n")
    with store.reading() as tx:
        assert all(c.assignee_id is None for c in tx.exec(select(Conversation)).all())
