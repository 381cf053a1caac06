"""`gateway conversations list`: what needs a person first, and every filter."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.models import Agent, Conversation, Customer
from tests.helpers import deliver, make_mail

runner = CliRunner()


@pytest.fixture
def env(env) -> dict[str, str]:
    return {**env, "GATEWAY_PARTNERS_MEMBERS": "@partner.example"}


def _deliver(processor, clock, name: str, subject: str, body: str = "Please help me with this.\n",
             to: str = "support@example.com") -> str:
    clock.advance(minutes=10)
    deliver(processor, make_mail(sender=f"{name.title()} <{name}>", subject=subject, body=body, to=to,
                                 message_id=f"<{subject.replace(' ', '.')}@x>"), rcpts=(to,))
    with processor.rt.store.reading() as tx:
        return tx.exec(select(Conversation.ref).where(Conversation.subject == subject)).one()


def _set(store, ref: str, **values: object) -> None:
    with store.transaction() as tx:
        conversation = tx.exec(select(Conversation).where(Conversation.ref == ref)).one()
        for key, value in values.items():
            setattr(conversation, key, value)


@pytest.fixture
def queue(processor, clock, store) -> dict[str, str]:
    """Six conversations, oldest first, each needing attention in its own way."""
    with store.transaction() as tx:
        tx.add(Agent(address="alice@example.com", name="Alice Smith"))
    refs = {
        "oldest": _deliver(processor, clock, "old@customer.example", "Oldest unanswered"),
        "urgent": _deliver(processor, clock, "urgent@customer.example", "Site down", "Everything is down!\n"),
        "partner": _deliver(processor, clock, "p@partner.example", "Partner question"),
        "answered": _deliver(processor, clock, "a@customer.example", "Answered already"),
        "pending": _deliver(processor, clock, "w@customer.example", "Waiting on customer",
                            to="billing@example.com"),
        "resolved": _deliver(processor, clock, "r@customer.example", "All done", "The refund arrived, thanks\n"),
    }
    _set(store, refs["urgent"], priority="urgent")
    _set(store, refs["answered"], first_response_at=clock.now, tags=["billing", "vip"])
    _set(store, refs["pending"], status="pending", first_response_at=clock.now)
    _set(store, refs["resolved"], status="resolved", resolved_at=clock.now)
    with store.transaction() as tx:
        alice = tx.exec(select(Agent)).one()
        tx.exec(select(Conversation).where(Conversation.ref == refs["answered"])).one().assignee_id = alice.id
    return refs


def _refs(env, *args: str) -> list[str]:
    result = runner.invoke(app, ["conversations", "list", "--json", *args], env=env)
    assert result.exit_code == 0, result.output
    return [json.loads(line)["ref"] for line in result.stdout.splitlines()]


def test_the_list_puts_what_needs_a_person_first(env, queue):
    assert _refs(env) == [queue[k] for k in ("urgent", "partner", "oldest", "answered", "pending")]


def test_resolved_conversations_need_all_and_come_last(env, queue):
    assert _refs(env, "--all")[-1] == queue["resolved"]
    assert _refs(env, "--status", "resolved") == [queue["resolved"]]
    assert _refs(env, "--status", "pending", "--status", "resolved") == [queue["pending"], queue["resolved"]]


@pytest.mark.parametrize(("args", "expected"), [
    (["--tag", "billing"], ["answered"]),
    (["--tag", "billing", "--tag", "vip"], ["answered"]),
    (["--tag", "bill"], []),
    (["--assignee", "alice"], ["answered"]),
    (["--assignee", "alice@example.com"], ["answered"]),
    (["--channel", "billing"], ["pending"]),
    (["--channel", "billing@example.com"], ["pending"]),
    (["--customer", "URGENT@"], ["urgent"]),
    (["--partner"], ["partner"]),
    (["--search", "everything DOWN"], ["urgent"]),
    (["--search", "refund", "--all"], ["resolved"]),
    (["--search", "\"is down\""], ["urgent"]),
    (["--search", "down refund"], []),
    (["--since", "2026-03-02T09:55:00+00:00"], ["partner", "answered", "pending"]),
    (["--since", "2026-03-02 10:15"], ["pending"]),
], ids=lambda v: " ".join(v) if isinstance(v, list) and v and v[0].startswith("--") else None)
def test_each_filter_narrows_the_list(env, queue, args, expected):
    assert _refs(env, *args) == [queue[k] for k in expected]


def test_assignee_nobody_lists_the_unassigned(env, queue):
    assert queue["answered"] not in _refs(env, "--assignee", "nobody")
    assert len(_refs(env, "--assignee", "nobody")) == 4


def test_an_unknown_assignee_is_bad_usage_naming_the_agents(env, queue):
    result = runner.invoke(app, ["conversations", "list", "--assignee", "bob"], env=env)
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: --assignee: no agent 'bob' (agents: alice@example.com; `nobody` for "
                                     "unassigned)")


def test_json_lines_carry_what_a_script_needs(env, queue):
    result = runner.invoke(app, ["conversations", "list", "--json", "--partner"], env=env)
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["partner"] is True and row["status"] == "open" and row["priority"] == "normal"
    assert set(row) == {"ref", "status", "priority", "customer", "partner", "channel", "subject", "tags", "assignee",
                        "messages", "created_at", "updated_at", "first_response_at", "waiting_since"}
    assert datetime.fromisoformat(row["waiting_since"]) == datetime.fromisoformat(row["created_at"])


def test_the_table_marks_new_conversations_partners_and_priority(env, queue):
    result = runner.invoke(app, ["conversations", "list"], env=env)
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert lines[queue["urgent"]].split()[1:3] == ["new", "urgent"]
    assert "p@partner.example ★" in lines[queue["partner"]]
    assert lines[queue["answered"]].split()[1:3] == ["open", "-"]


def test_a_partner_flag_on_the_customer_counts_like_the_config(env, queue, store):
    with store.transaction() as tx:
        tx.exec(select(Customer).where(Customer.address == "old@customer.example")).one().partner = True
    assert _refs(env, "--partner") == [queue["oldest"], queue["partner"]]  # both partners: longest wait first


def test_an_empty_list_says_so_and_how_to_see_resolved_ones(env, store):
    result = runner.invoke(app, ["conversations", "list"], env=env)
    assert result.exit_code == 0 and result.stdout.strip() == "no conversations match (resolved ones need --all)"


def test_since_accepts_a_span(env, queue, clock):
    # The CLI's clock is the real one: every test conversation (2026-03-02) is older than 30 minutes ago,
    # unless this machine's clock says otherwise; a span in years reaches all of them.
    assert datetime.now(UTC) > clock.now
    assert _refs(env, "--since", "30m") == []
    assert len(_refs(env, "--since", "5000w")) == 5


def test_a_customer_who_has_our_answer_waits_behind_one_who_wrote_again(env, processor, clock, store, tmp_path):
    with store.transaction() as tx:
        tx.add(Agent(address="alice@example.com", name="Alice"))
    first = _deliver(processor, clock, "a@customer.example", "First question")
    second = _deliver(processor, clock, "b@customer.example", "Second question")
    answer = tmp_path / "answer.txt"
    answer.write_text("Here you go.\n")
    for ref in (first, second):
        runner.invoke(app, ["conversations", "reply", ref, "--file", str(answer), "--as", "alice"], env=env)
    clock.now = datetime.now(UTC)  # After the answers, which went out on the real clock.
    deliver(processor, make_mail(sender="B <b@customer.example>", subject="Re: Second question",
                                 message_id="<b2@x>", body="That did not work.\n",
                                 In_Reply_To="<Second.question@x>"))
    rows = [json.loads(line) for line in runner.invoke(app, ["conversations", "list", "--json"], env=env)
            .stdout.splitlines()]
    assert [r["ref"] for r in rows] == [second, first]
    assert rows[0]["waiting_since"] is not None and rows[1]["waiting_since"] is None


@pytest.mark.parametrize("query", ["", " ", "!!!", '"', "..."])
def test_a_search_with_no_words_is_refused_in_one_line_not_a_list_of_everything(env, queue, query):
    result = runner.invoke(app, ["conversations", "list", "--all", "--search", query], env=env)
    assert result.exit_code == 2 and "has no words to look for" in result.output
    assert len(result.output.strip().splitlines()) == 1
