"""`gateway report` over a store with known times: every number checked, in each output form."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.models import Conversation, Survey
from tests.reports.conftest import WINDOW

runner = CliRunner()
SPAN = ["--since", WINDOW[0], "--until", WINDOW[1]]


@pytest.fixture
def env(database_url, monkeypatch) -> dict[str, str]:
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    return {"GATEWAY_DATABASE_URL": database_url, "COLUMNS": "200"}


def report_json(env: dict[str, str], *args: str) -> dict:
    result = runner.invoke(app, ["report", *SPAN, "--json", *args], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_report_counts_conversations_opened_in_the_window_and_messages_that_arrived_in_it(known_store, env):
    total = report_json(env)["total"]
    assert (total["new_conversations"], total["messages_in"], total["messages_out"]) == (4, 7, 4)
    assert (total["acknowledgements"], total["not_acknowledged"], total["waiting"]) == (3, 1, 1)


def test_report_gives_first_reply_times_in_business_hours_and_on_the_clock(known_store, env):
    total = report_json(env)["total"]
    # 1h, 2h (Friday 16:00 to Monday 10:00 counts Friday's last hour and Monday's first) and 4h.
    assert total["first_response_business"] == {"median": 2.0, "p90": 4.0, "count": 3}
    assert total["first_response_wall"] == {"median": 4.0, "p90": 66.0, "count": 3}


def test_report_gives_resolution_times_exchanges_and_the_share_reopened(known_store, env):
    total = report_json(env)["total"]
    assert total["resolved"] == 2
    assert total["resolution_wall"]["median"] == 12.0  # 3h and 21h
    assert total["resolution_business"]["median"] == 4.0  # 3h and 5h
    # C1: question and answer; C4: three customer mails (one merged in) and two replies.
    assert (total["exchanges_median"], total["exchanges_mean"]) == (3.5, 3.5)
    assert (total["reopened"], total["reopened_share"]) == (1, 0.3333)


def test_report_sections_auto_replies_tags_known_issues_and_busiest_hours(known_store, env):
    data = report_json(env)
    assert data["auto_replies"] == {"sent": 3, "failed": 1, "suppressed": [["no-reply address", 1]],
                                    "machine_mail": 1}
    assert [(t["tag"], t["conversations"]) for t in data["top_tags"]] == [("login", 3), ("outage-x", 2),
                                                                          ("billing", 1)]
    assert data["known_issues"] == [{"name": "outage-x", "known_since": "2026-03-08T12:00:00+00:00",
                                     "conversations": 2, "already_known": 1, "partners": 1}]
    assert data["segments"] == [
        {"segment": "partners", "conversations": 1, "already_known": 0, "share": 0.0},
        {"segment": "others", "conversations": 3, "already_known": 1, "share": 0.3333}]
    hot = {(day, hour): n for day, row in enumerate(data["busiest_hours"]) for hour, n in enumerate(row) if n}
    assert hot == {(0, 9): 1, (0, 15): 1, (1, 9): 1, (2, 13): 1, (2, 14): 1, (3, 9): 1, (4, 16): 1}
    assert [(b["label"], b["count"]) for b in data["first_response_histogram"] if b["count"]] == [
        ("1-2h", 1), ("2-4h", 1), ("4-8h", 1)]
    assert data["csat"] is None and data["agents"] is None


def test_report_by_week_has_a_row_per_week_on_the_desk_calendar(known_store, env):
    groups = report_json(env, "--by", "week")["groups"]
    assert [(g["group"], g["new_conversations"], g["messages_in"], g["messages_out"]) for g in groups] == [
        ("2026-03-02", 2, 2, 1), ("2026-03-09", 2, 5, 3)]


def test_report_by_tag_counts_a_conversation_in_each_of_its_tags(known_store, env):
    groups = {g["group"]: g for g in report_json(env, "--by", "tag")["groups"]}
    assert {name: g["new_conversations"] for name, g in groups.items()} == {"login": 3, "outage-x": 2, "billing": 1,
                                                                           "(no conversation)": 0}
    assert groups["outage-x"]["messages_in"] == 5 and groups["billing"]["first_response_wall"]["median"] == 1.0


def test_report_by_channel_and_for_one_channel(known_store, env):
    groups = report_json(env, "--by", "channel")["groups"]
    assert [(g["group"], g["new_conversations"]) for g in groups] == [("support@example.com", 4),
                                                                       ("(no conversation)", 0)]
    assert report_json(env, "--channel", "support@example.com")["total"]["messages_in"] == 7


def test_csv_has_a_header_and_one_row_per_group_then_the_total(known_store, env):
    result = runner.invoke(app, ["report", *SPAN, "--by", "week", "--csv"], env=env)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["group"] for r in rows] == ["2026-03-02", "2026-03-09", "all"]
    assert rows[-1]["first_response_business_median_h"] == "2.00" and rows[-1]["reopened_share"] == "0.3333"
    assert rows[0]["resolution_wall_median_h"] == "3.00" and rows[1]["waiting"] == "1"


def test_a_tag_a_spreadsheet_would_run_as_a_formula_starts_with_a_quote_in_the_csv(known_store, env):
    with known_store.transaction() as tx:  # As an imported archive may carry it: agents cannot write such a tag.
        tx.exec(select(Conversation).where(Conversation.ref == "C1000000")).one().tags = ["-2+3"]
    result = runner.invoke(app, ["report", *SPAN, "--by", "tag", "--csv"], env=env)
    assert result.exit_code == 0, result.output
    groups = [r["group"] for r in csv.DictReader(io.StringIO(result.output))]
    assert "'-2+3" in groups and "-2+3" not in groups


def test_the_terminal_report_reads_as_sentences_and_tables(known_store, env):
    result = runner.invoke(app, ["report", *SPAN], env=env)
    assert result.exit_code == 0, result.output
    assert "first reply, median (business)   2h 00m" in result.output
    assert "not sent, no-reply address: 1" in result.output and "Satisfaction (CSAT): no surveys" in result.output
    assert "Already-known issues, others: 1 of 3 conversations (33%)" in result.output
    weekly = runner.invoke(app, ["report", *SPAN, "--by", "week"], env=env)
    assert "2026-03-09" in weekly.output and "WEEK" in weekly.output


def test_by_agent_adds_replies_per_agent_only_when_asked(store, processor, env):
    assert report_json(env)["agents"] is None
    assert report_json(env, "--by-agent")["agents"] == []


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "yesterday-ish"], "is not a time"),
    (["--since", ""], "--since '' is not a time"),
    (["--until", ""], "--until '' is not a time"),
    (["--since", "2026-03-10", "--until", "2026-03-01"], "must be before --until"),
    (["--channel", "nobody@example.com"], "not one of [mail] addresses"),
    (["--json", "--csv"], "choose one"),
])
def test_bad_usage_is_one_line_and_exit_2(env, args, message):
    result = runner.invoke(app, ["report", *args], env=env)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_unknown_grouping_is_refused_by_typer(env):
    result = runner.invoke(app, ["report", "--by", "mood"], env=env)
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_report_shows_csat_of_the_surveys_sent_in_the_window(known_store, env):
    with known_store.transaction() as tx:
        conversations = tx.exec(select(Conversation).order_by(Conversation.id).limit(3)).all()
        answers = [5, 2, None]
        for conversation, rating in zip(conversations, answers):
            tx.add(Survey(conversation_id=conversation.id, customer_id=conversation.customer_id,
                          channel=conversation.channel, message_id=f"<s{conversation.id}@test>",
                          sent_at=datetime(2026, 3, 10, 9, tzinfo=UTC), expires_at=datetime(2026, 3, 24, tzinfo=UTC),
                          rating=rating))
    assert report_json(env)["csat"] == {"sent": 3, "answered": 2, "response_rate": 0.6667, "satisfied_share": 0.5}
    text = runner.invoke(app, ["report", *SPAN], env=env).output
    assert "Satisfaction (CSAT): 50% satisfied; 2 answers to 3 surveys (67%)" in text
