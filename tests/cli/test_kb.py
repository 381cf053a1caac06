"""`gateway kb export`: a good answer becomes an article draft the self-help index reads."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gateway.autoreply.article_draft import article_body
from gateway.autoreply.articles import ArticleIndex, load_articles
from gateway.cli import app
from gateway.models import Agent
from tests.agents.conftest import Desk, desk, desk_settings  # noqa: F401 (fixtures used by the tests)
from tests.helpers import conversations, deliver, make_mail

runner = CliRunner()


@pytest.fixture
def env(env) -> dict[str, str]:
    return {**env, "GATEWAY_SELFHELP_KNOWLEDGE_BASE": "https://help.example.com/articles/"}


@pytest.fixture
def answered(env, processor, store, tmp_path) -> tuple[str, int, int]:
    """A conversation about a printer, answered by Alice: (ref, the answer's number, the question's)."""
    with store.transaction() as tx:
        tx.add(Agent(address="alice@example.com", name="Alice"))
    deliver(processor, make_mail(subject="Printer offline after update", body="My printer shows offline.\n"))
    ref = conversations(store)[0].ref
    answer = tmp_path / "answer.txt"
    answer.write_text("Hi Anne,\n\nOpen Settings, choose Printers, then Reconnect.\nIt comes back online in a "
                      "minute.\n\nBest regards,\nAlice\n")
    for args in (["tag", ref, "printer"], ["reply", ref, "--file", str(answer), "--as", "alice"]):
        assert runner.invoke(app, ["conversations", *args], env=env).exit_code == 0
    record = json.loads(runner.invoke(app, ["conversations", "show", ref, "--json"], env=env).stdout)
    reply = next(m["id"] for m in record["messages"] if m["kind"] == "agent_reply")
    return ref, reply, record["messages"][0]["id"]


def test_an_answer_becomes_an_article_the_self_help_index_suggests(env, answered, tmp_path):
    ref, reply, _ = answered
    folder = tmp_path / "articles"
    folder.mkdir()
    out = folder / "printer-offline.md"
    result = runner.invoke(app, ["kb", "export", ref, "--message", str(reply), str(out)], env=env)
    assert result.exit_code == 0, result.output
    (article,) = load_articles(str(folder))
    assert article.title == "Printer offline after update"
    assert article.url == "https://help.example.com/articles/printer-offline-after-update"
    assert article.body == "Open Settings, choose Printers, then Reconnect.\nIt comes back online in a minute."
    assert article.keywords[0] == "printer" and "offline" in article.keywords
    assert ArticleIndex.build([article]).suggest("my printer is offline again", 3) == (article,)


def test_kb_export_refuses_what_is_not_an_answer_and_never_overwrites(env, answered, tmp_path):
    ref, reply, question = answered
    out = tmp_path / "a.md"
    refused = runner.invoke(app, ["kb", "export", ref, "--message", str(question), str(out)], env=env)
    assert refused.exit_code == 2 and not out.exists()
    assert refused.stderr.strip() == (f"error: message {question} is the customer's message, not an answer the "
                                      f"customer got; pick an agent reply from `gateway conversations show {ref}`")
    missing = runner.invoke(app, ["kb", "export", ref, "--message", "999", str(out)], env=env)
    assert missing.exit_code == 2 and "has no message 999" in missing.stderr
    assert runner.invoke(app, ["kb", "export", ref, "--message", str(reply), str(out)], env=env).exit_code == 0
    again = runner.invoke(app, ["kb", "export", ref, "--message", str(reply), str(out)], env=env)
    assert again.exit_code == 2 and "--force" in again.stderr
    no_home = {k: v for k, v in env.items() if k != "GATEWAY_SELFHELP_KNOWLEDGE_BASE"}
    nowhere = runner.invoke(app, ["kb", "export", ref, "--message", str(reply), "-"], env=no_home)
    assert nowhere.exit_code == 2 and "--url" in nowhere.stderr
    given = runner.invoke(app, ["kb", "export", ref, "--message", str(reply), "-", "--url", "https://x.example/p"],
                          env=no_home)
    assert given.exit_code == 0 and "url: https://x.example/p" in given.stdout


def test_kb_export_refuses_an_agents_internal_note(env, desk: Desk, store, tmp_path):
    desk.customer_writes()
    desk.agent_replies("gmail_note.eml", "alice@example.com", desk.to("alice@example.com", desk.take())[0])
    ref = conversations(store)[0].ref
    record = json.loads(runner.invoke(app, ["conversations", "show", ref, "--json"], env=env).stdout)
    (note,) = [m["id"] for m in record["messages"] if (m["direction"], m["kind"]) == ("in", "agent")]
    out = tmp_path / "note.md"
    refused = runner.invoke(app, ["kb", "export", ref, "--message", str(note), str(out)], env=env)
    assert refused.exit_code == 2 and not out.exists()
    assert refused.stderr.strip() == (f"error: message {note} is an agent's mail to the gateway (a note or commands), "
                                      f"not an answer the customer got; pick an agent reply from `gateway "
                                      f"conversations show {ref}`")


@pytest.mark.parametrize(("answer", "body"), [
    ("Hi Anne,\n\nRestart it.\n\nBest,\nAlice", "Restart it.\n"),
    ("Hi Anne, it works now.", "Hi Anne, it works now.\n"),
    ("Hallo Frau Müller!\nDas geht so.\nViele Grüße\nBob", "Das geht so.\n"),
    ("Thanks!", "Thanks!\n"),
])
def test_the_article_body_drops_greeting_and_sign_off_only(answer, body):
    assert article_body(answer) == body
