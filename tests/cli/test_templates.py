"""`gateway templates …` through Typer's CliRunner, on a real store."""

from __future__ import annotations

import email
import itertools
import json
import sys
from datetime import timedelta
from email.policy import default
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.clock import utc_now
from gateway.models import OutboxItem, TemplateUse
from tests.helpers import conversations, deliver, make_mail, outbox_items

runner = CliRunner()
SUBJECT = "{{ reply_subject }} [#{{ ref }}]"


@pytest.fixture
def env(database_url, store, monkeypatch) -> dict[str, str]:  # store: the database `gateway init` made
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    return {"GATEWAY_DATABASE_URL": database_url}


def run(env: dict[str, str], *args: str, code: int = 0, **kwargs: object) -> str:
    result = runner.invoke(app, ["templates", *args], env=env, **kwargs)  # type: ignore[arg-type]
    assert result.exit_code == code, result.output
    return result.output


def json_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines()]


def template_file(tmp_path: Path, text: str, subject: str = SUBJECT, html: str = "") -> Path:
    path = tmp_path / "template.txt"
    path.write_text(f"#===== subject =====\n{subject}\n#===== text =====\n{text}\n#===== html =====\n{html}\n")
    return path


def test_list_shows_audience_variants_and_the_version_in_use(env, tmp_path) -> None:
    listed = {t["name"]: t for t in json_lines(run(env, "list", "--json"))}
    assert listed["acknowledgement"]["audience"] == "customers" and listed["acknowledgement"]["version"] == 0
    assert [v["name"] for v in listed["acknowledgement"]["variants"]] == ["acknowledgement.beta",  # type: ignore[index]
                                                                          "acknowledgement.de"]
    assert listed["agent/note"]["audience"] == "agents"
    run(env, "set", "acknowledgement.fr", "--file", str(template_file(tmp_path, "Bonjour {{ ref }}")))
    table = run(env, "list")
    assert "beta, de, fr (v1)" in table and "shipped" in table


def test_show_says_where_the_template_comes_from(env, tmp_path) -> None:
    shown = json.loads(run(env, "show", "acknowledgement", "--json"))
    assert shown["version"] == 0 and shown["source"].startswith("shipped files")
    assert "{{ customer_name" in shown["text"] and "color-scheme" in shown["html"]
    run(env, "set", "acknowledgement", "--file", str(template_file(tmp_path, "Hi {{ ref }}")), "--comment", "short")
    text = run(env, "show", "acknowledgement")
    assert text.startswith("# Template acknowledgement, from database version 1")
    assert "#===== text (required) =====\nHi {{ ref }}\n" in text


def test_what_show_prints_can_be_changed_and_set_again(env, tmp_path) -> None:
    shown = run(env, "show", "acknowledgement")
    changed = tmp_path / "ack.txt"
    changed.write_text(shown.replace("Thanks for writing,", "Talk soon,"))
    run(env, "set", "acknowledgement", "--file", str(changed))
    again = json.loads(run(env, "show", "acknowledgement", "--json"))
    assert "Talk soon," in again["text"] and "#=====" not in again["text"] and again["subject"].startswith("{{")


def test_an_unknown_filter_is_refused_in_one_line_not_a_traceback(env, tmp_path) -> None:
    output = run(env, "set", "acknowledgement", "--file", str(template_file(tmp_path, "{{ ref | shout }}")), code=1)
    assert "No filter named 'shout'" in output and "Traceback" not in output


def test_set_refuses_a_template_with_problems_one_line_each_and_saves_nothing(env, tmp_path) -> None:
    output = run(env, "set", "acknowledgement", "--file", str(template_file(tmp_path, "Hi {{ nmae }}\n{{ x }}")),
                 code=1)
    lines = output.strip().splitlines()
    assert lines[0].startswith("error: text: line 1: 'nmae' is not a variable of acknowledgement")
    assert lines[1].startswith("error: text: line 2: 'x' is not a variable")
    assert lines[2] == "error: acknowledgement not saved (2 problems)"
    assert json_lines(run(env, "history", "acknowledgement", "--json")) == [
        {"version": 0, "saved": "", "author": "", "comment": "the shipped files", "in_use": True, "shipped": True}]


def test_set_takes_a_plain_j2_file_as_the_text_part(env, tmp_path) -> None:
    plain = tmp_path / "text.j2"
    plain.write_text("Hello {{ customer_name or 'there' }}, it is {{ ref }}.\n")
    assert "saved acknowledgement version 1" in run(env, "set", "acknowledgement", "--file", str(plain))
    shown = json.loads(run(env, "show", "acknowledgement", "--json"))
    assert shown["text"] == plain.read_text() and shown["subject"] == SUBJECT and "color-scheme" in shown["html"]
    assert "nothing saved" in run(env, "set", "acknowledgement", "--file", str(plain))


def test_preview_renders_samples_or_a_real_conversation(env, processor, store) -> None:
    sample = json.loads(run(env, "preview", "acknowledgement", "--channel", "beta@example.com", "--json"))
    assert sample["template"] == "acknowledgement.beta" and sample["values"] == "sample values"
    assert "Thank you for the beta feedback" in sample["text"] and "<html" in sample["html"]
    deliver(processor, make_mail(subject="Scanner jammed"))
    (conversation,) = conversations(store)
    real = json.loads(run(env, "preview", "acknowledgement", "--conversation", conversation.ref, "--json"))
    assert f"[#{conversation.ref}]" in real["subject"] and "Re: Scanner jammed" in real["subject"]
    assert real["text"].startswith("Hi Anne,") and conversation.ref in real["text"]
    note = run(env, "preview", "agent/note", "--conversation", conversation.ref)
    assert f"on conversation {conversation.ref}" in note and "(no HTML part)" in note
    assert "no conversation 'NOPE'" in run(env, "preview", "acknowledgement", "--conversation", "NOPE", code=1)


def test_diff_history_and_rollback(env, tmp_path) -> None:
    run(env, "set", "acknowledgement", "--file", str(template_file(tmp_path, "one {{ ref }}")))
    run(env, "set", "acknowledgement", "--file", str(template_file(tmp_path, "two {{ ref }}")))
    changed = run(env, "diff", "acknowledgement", "--from", "1", "--to", "2")
    assert "--- acknowledgement 1" in changed and "-one {{ ref }}" in changed and "+two {{ ref }}" in changed
    assert "-Hi {{ customer_name" in run(env, "diff", "acknowledgement")
    assert run(env, "diff", "acknowledgement", "--from", "2").strip() == "no differences between 2 and current"
    assert "a copy of version 1" in run(env, "rollback", "acknowledgement", "1")
    assert "a copy of the shipped files" in run(env, "rollback", "acknowledgement", "shipped")
    entries = json_lines(run(env, "history", "acknowledgement", "--json"))
    assert [(e["version"], e["in_use"], e["shipped"]) for e in entries] == [
        (0, False, True), (1, False, False), (2, False, False), (3, False, False), (4, True, True)]
    assert entries[3]["comment"] == "rollback to version 1"
    assert json.loads(run(env, "show", "acknowledgement", "--json"))["version"] == 0
    assert "has no version 9" in run(env, "rollback", "acknowledgement", "9", code=1)
    assert "give a number" in run(env, "rollback", "acknowledgement", "latest", code=2)


def test_edit_opens_the_editor_validates_and_saves(env, tmp_path) -> None:
    script = tmp_path / "editor.py"
    script.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
                      "p.write_text(p.read_text().replace('Hi {{ customer_name', 'Hello {{ customer_name'))\n")
    env = {**env, "EDITOR": f"{sys.executable} {script}"}
    assert "saved acknowledgement version 1" in run(env, "edit", "acknowledgement", "--comment", "hello")
    shown = json.loads(run(env, "show", "acknowledgement", "--json"))
    assert "Hello {{ customer_name" in shown["text"] and "Hello {{ customer_name" in shown["html"]
    assert json_lines(run(env, "history", "acknowledgement", "--json"))[1]["comment"] == "hello"


def test_edit_with_no_change_saves_nothing(env) -> None:
    env = {**env, "EDITOR": "true"}
    assert "no changes; nothing saved" in run(env, "edit", "agent/note")
    assert len(json_lines(run(env, "history", "agent/note", "--json"))) == 1


def test_edit_shows_problems_and_offers_to_edit_again(env, tmp_path) -> None:
    # The first pass breaks the template, the second fixes it: what the admin typed is kept between passes.
    script = tmp_path / "editor.py"
    script.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\ncount = pathlib.Path(sys.argv[0] + '.n')\n"
                      "n = int(count.read_text()) if count.exists() else 0\ncount.write_text(str(n + 1))\n"
                      "old, new = ('{{ author }}', '{{ writer }}') if n == 0 else ('{{ writer }}', '{{ author }}!')\n"
                      "p.write_text(p.read_text().replace(old, new))\n")
    env = {**env, "EDITOR": f"{sys.executable} {script}"}
    output = run(env, "edit", "agent/note", input="y\n")
    assert "'writer' is not a variable of agent/note" in output and "Edit again?" in output
    assert "saved agent/note version 1" in output
    assert "{{ author }}!" in json.loads(run(env, "show", "agent/note", "--json"))["text"]
    script.with_name("editor.py.n").unlink()
    refused = run(env, "edit", "agent/note", input="n\n", code=1)
    assert "error: agent/note not saved" in refused
    assert len(json_lines(run(env, "history", "agent/note", "--json"))) == 2


def test_send_test_queues_the_preview_to_the_address(env, store) -> None:
    output = run(env, "send-test", "acknowledgement", "--to", "me@example.com", "--language", "de")
    assert "queued a test of acknowledgement.de to me@example.com" in output
    (item,) = outbox_items(store)
    assert item.conversation_id is None and item.rcpt_tos == ["me@example.com"] and item.template == ""
    mail = email.message_from_bytes(item.raw, policy=default)
    assert str(mail["Subject"]).startswith("[test] Re: Drucker") and mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/alternative" and mail["Reply-To"] == "Support <me@example.com>"
    assert "is not a plain ASCII mail address" in run(env, "send-test", "acknowledgement", "--to", "nobody", code=2)


def test_stats_counts_templates_and_saved_replies_and_names_a_cause_worth_fixing(env, store) -> None:
    now, ids = utc_now(), itertools.count()

    def outbox(kind: str, template: str = "", days_ago: int = 1) -> OutboxItem:
        at = now - timedelta(days=days_ago)
        return OutboxItem(kind=kind, template=template, message_id=f"<{next(ids)}@x>", raw=b"x",
                          created_at=at, next_attempt_at=at, expires_at=at)

    with store.transaction() as tx:
        tx.add_all([outbox("acknowledgement", "acknowledgement") for _ in range(3)])
        tx.add(outbox("acknowledgement", "acknowledgement.beta"))
        tx.add(outbox("acknowledgement", "acknowledgement", days_ago=40))
        tx.add_all([outbox("agent_reply") for _ in range(40)])
        tx.add_all([TemplateUse(name="reset_password", kind="saved_reply", used_at=now) for _ in range(12)])
        tx.add_all([TemplateUse(name="thanks", kind="saved_reply", used_at=now) for _ in range(2)])
    rows = {(r["kind"], r["name"]): r for r in json_lines(run(env, "stats", "--json"))}
    assert rows[("template", "acknowledgement")]["uses"] == 3 and rows[("template", "agent/note")]["uses"] == 0
    assert rows[("template", "acknowledgement.beta")]["uses"] == 1
    assert rows[("saved_reply", "reset_password")] == {"kind": "saved_reply", "name": "reset_password", "uses": 12,
                                                       "share": 0.3, "worth_fixing": True}
    assert rows[("saved_reply", "thanks")]["worth_fixing"] is False
    table = run(env, "stats", "--days", "60")
    assert "Saved reply 'reset_password' went out 12 times, in 30% of replies" in table
    assert "points to a cause worth fixing" in table and "Saved reply 'thanks'" not in table


@pytest.mark.parametrize("args, code, message", [
    (["show", "nope"], 2, "no template 'nope'"),
    (["preview", "acknowledgement.Beta"], 2, "no template 'acknowledgement.Beta'"),
    (["diff", "acknowledgement", "--from", "7"], 1, "acknowledgement has no version 7"),
    (["show", "acknowledgement.fr"], 1, "acknowledgement.fr has no shipped files and no version in use"),
])
def test_bad_arguments_get_one_line_saying_what_is_wrong(env, args, code, message) -> None:
    output = run(env, *args, code=code)
    assert message in output and "Traceback" not in output and len(output.strip().splitlines()) == 1


def test_every_command_has_help_with_an_example(env) -> None:
    for command in ("list", "show", "edit", "set", "preview", "diff", "history", "rollback", "send-test", "stats"):
        assert "Example: gateway templates" in run(env, command, "--help"), command



def test_a_template_that_raises_while_rendering_is_refused_in_one_line(env, tmp_path) -> None:
    output = run(env, "set", "acknowledgement", "--file", str(template_file(tmp_path, "{{ 1 / 0 }}")), code=1)
    assert "ZeroDivisionError" in output and "Traceback" not in output


def test_preview_of_a_conversation_uses_the_variant_its_customer_gets(env, processor, store) -> None:
    from gateway.models import Conversation

    deliver(processor, make_mail())
    [conversation] = conversations(store)
    with store.transaction() as tx:
        tx.get(Conversation, conversation.id).language = "de"
    output = run(env, "preview", "acknowledgement", "--conversation", conversation.ref)
    assert "acknowledgement.de" in output and "Hallo Anne" in output
