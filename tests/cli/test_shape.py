"""Every command has the same shape: help with an example, --config, --json on reads, one-line errors, exit codes,
plain text when piped and colour on a terminal, and shell completion that works."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from gateway.cli import app
from sqlmodel import select

from gateway.models import Conversation
from tests.helpers import conversations, deliver, make_mail

runner = CliRunner()
GATEWAY = Path(sys.executable).parent / "gateway"


def _commands(group: typer.core.TyperGroup = None, path: tuple[str, ...] = ()):  # type: ignore[assignment]
    group = group or typer.main.get_command(app)
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = sorted(_commands(), key=lambda item: item[0])
READS = {("conversations", "list"), ("conversations", "show"), ("agents", "list"), ("quarantine", "list"),
         ("quarantine", "show"), ("queue", "list"), ("incidents", "list"), ("templates", "list"),
         ("templates", "show"), ("templates", "preview"), ("templates", "history"), ("templates", "stats"),
         ("doctor",), ("report",), ("status",), ("surveys", "list"), ("surveys", "stats"),
         ("conversations", "related")}


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_with_an_example_and_takes_a_config(path, command):
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Example: gateway " + " ".join(path) in " ".join(result.output.split())
    options = {opt for param in command.params for opt in param.opts}
    assert "--config" in options


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_brackets_written_in_help_are_shown_not_eaten_as_markup(path, command):
    written = " ".join([command.help or "", *(getattr(p, "help", None) or "" for p in command.params)])
    named = {f"[{inner}]" for inner in re.findall(r"\\?\[([^][]+)\]", written)}
    shown = " ".join(runner.invoke(app, [*path, "--help"], env={"COLUMNS": "400"}).output.split())
    assert {section for section in named if section not in shown} == set()


@pytest.mark.parametrize("group", sorted({p[0] for p, _ in COMMANDS if len(p) > 1}))
def test_every_noun_has_help_with_an_example(group):
    result = runner.invoke(app, [group, "--help"])
    assert result.exit_code == 0 and "Example: gateway " + group in result.output


def test_every_read_command_offers_json():
    commands = dict(COMMANDS)
    for path in READS:
        assert "--json" in {opt for param in commands[path].params for opt in param.opts}, path


@pytest.mark.parametrize("args", [
    ["conversations", "list", "--status", "sleeping"],
    ["conversations", "lst"],
    ["conversations", "show"],
    ["conversations", "list", "--bogus"],
    ["queue", "retry", "abc"],
    ["conversations", "list", "--since", "last tuesday"],
    ["conversations", "show", "not a ref"],
], ids=lambda a: " ".join(a))
def test_bad_usage_is_one_line_saying_what_would_be_right_and_exit_2(env, args):
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output


TOO_LONG = [
    (["conversations", "list", "--since", "99999999999d"], "--since '99999999999d' reaches back further than dates go"),
    (["conversations", "list", "--since", "999999999d"], "--since '999999999d' reaches back further than dates go"),
    (["messages", "reprocess", "--since", "99999999999d"], "--since '99999999999d' reaches back further"),
    (["surveys", "list", "--since", "99999999999d"], "--since '99999999999d' reaches back further"),
    (["surveys", "stats", "--since", "999999999d"], "--since '999999999d' reaches back further"),
    (["report", "--since", "99999999999d"], "'99999999999d' reaches back further than dates go"),
    (["incidents", "open", "Outage", "--kind", "outage", "--until", "99999999999d"], "further ahead than dates go"),
    (["retention", "apply", "--older-than", "99999999999d"], "'99999999999d' is too long a duration"),
    (["retention", "apply", "--older-than", "999999999d"], "999999999 days reaches back further than dates go"),
]


@pytest.mark.parametrize(("args", "says"), TOO_LONG, ids=[" ".join(args) for args, _ in TOO_LONG])
def test_a_span_too_long_for_a_date_is_one_line_saying_what_would_be_right(env, args, says):
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and says in line


@pytest.mark.parametrize(("raised", "says"), [
    (OverflowError("Python int too large to convert to SQLite INTEGER"),
     "error: Python int too large to convert to SQLite INTEGER"),
    (OperationalError("SELECT outbox_item.id", {}, Exception("database is locked")),
     "error: database error: (builtins.Exception) database is locked"),
], ids=["overflow", "database"])
def test_an_error_deep_in_a_command_is_one_line_and_exit_1(env, processor, monkeypatch, raised, says):
    def fails(*args, **kwargs):
        raise raised

    monkeypatch.setattr("gateway.cli.queue.state_of", fails)
    deliver(processor, make_mail())
    result = runner.invoke(app, ["queue", "list"], env=env)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.strip() == says


def test_a_bad_choice_names_the_choices_and_the_help(env):
    result = runner.invoke(app, ["conversations", "list", "--status", "sleeping"], env=env, prog_name="gateway")
    assert result.stderr.strip() == ("error: Invalid value for '--status': 'sleeping' is not one of 'open', "
                                     "'pending', 'resolved'. See `gateway conversations list --help`.")


def test_a_store_that_cannot_be_opened_is_one_line_and_exit_1(monkeypatch):
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    result = runner.invoke(app, ["conversations", "list"],
                           env={"GATEWAY_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "[database] url" in result.stderr


def test_the_config_comes_from_gateway_config_when_no_option_is_given(database_url, processor, tmp_path,
                                                                      monkeypatch):
    deliver(processor, make_mail())
    config = tmp_path / "gateway.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n')
    monkeypatch.delenv("GATEWAY_DATABASE_URL", raising=False)
    result = runner.invoke(app, ["conversations", "list", "--json"], env={"GATEWAY_CONFIG": str(config)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0])["subject"] == "Printer offline"


def test_piped_tables_are_plain_one_line_per_row_and_never_cut(env, processor):
    subject = "A very long subject line that a terminal table would cut or wrap " * 3
    deliver(processor, make_mail(subject=subject.strip()))
    result = runner.invoke(app, ["conversations", "list"], env={**env, "COLUMNS": "60"})
    assert "\x1b[" not in result.output
    header, row = result.stdout.splitlines()
    assert header.split() == ["REF", "STATUS", "PRI", "CUSTOMER", "SUBJECT", "TAGS", "ASSIGNEE", "MSGS", "WAITING"]
    assert subject.strip() in row


def test_a_terminal_gets_colour_and_a_table_that_fits(env, processor):
    deliver(processor, make_mail())
    result = runner.invoke(app, ["conversations", "list"], env={**env, "FORCE_COLOR": "1", "COLUMNS": "80"})
    assert "\x1b[" in result.stdout
    visible = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).splitlines()
    assert all(len(line) <= 80 for line in visible) and "MSGS" in visible[0] and "WAITING" in visible[0]


def test_no_arguments_prints_the_help_and_exit_2():
    result = runner.invoke(app, [])
    assert result.exit_code == 2 and "conversations" in result.output and "Example:" in result.output


@pytest.mark.parametrize("args", [["agents", "list"], ["conversations", "list"], ["report"]])
def test_a_command_before_init_says_so_and_creates_no_database(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    monkeypatch.delenv("GATEWAY_DATABASE_URL", raising=False)
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and list(tmp_path.iterdir()) == []
    assert result.output.startswith(f"error: there is no database at {tmp_path / 'gateway.db'}; run `gateway init`")


def test_doctor_before_init_says_there_is_no_database_and_creates_none(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    monkeypatch.delenv("GATEWAY_DATABASE_URL", raising=False)
    result = runner.invoke(app, ["doctor", "--json"])
    findings = {f["check"]: f for f in map(json.loads, result.output.splitlines())}
    assert result.exit_code == 1 and list(tmp_path.iterdir()) == []
    assert "there is no database at" in findings["database"]["detail"] and "gateway init" in findings["database"]["fix"]
    assert "storage" not in findings and "templates" not in findings


@pytest.mark.parametrize("args", [["-h"], ["conversations", "-h"], ["conversations", "list", "-h"]])
def test_dash_h_is_help_as_in_git_and_systemctl(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and f"Usage: root {' '.join(args[:-1])}".strip() in result.output


def test_version_prints_the_installed_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and re.fullmatch(r"gateway \d+\.\d+\.\d+\S*\n", result.output)


@pytest.mark.integration
def test_shell_completion_completes_nouns_verbs_options_and_open_refs(env, processor, store):
    deliver(processor, make_mail())
    deliver(processor, make_mail(sender="Bo <bo@other.example>", subject="Invoice", message_id="<i@x>"))
    with store.transaction() as tx:
        tx.exec(select(Conversation).where(Conversation.subject == "Invoice")).one().status = "resolved"
    (open_ref,) = [c.ref for c in conversations(store) if c.status == "open"]

    def complete(words: str) -> list[str]:
        variables = {**os.environ, **env, "_GATEWAY_COMPLETE": "complete_bash", "COMP_WORDS": words,
                     "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
        done = subprocess.run([str(GATEWAY)], env=variables, capture_output=True, text=True, timeout=60)
        return done.stdout.split()

    assert "conversations" in complete("gateway conv")
    assert {"list", "show", "split"} <= set(complete("gateway conversations "))
    assert "--status" in complete("gateway conversations list --st")
    assert complete("gateway conversations close ") == [open_ref]  # Open ones only: what an admin acts on.
    assert complete(f"gateway conversations show {open_ref[:3]}") == [open_ref]
    # Typed in lower case, refs complete in lower case; a prefix of digits alone says nothing about case.
    typed = open_ref[:next((i for i, c in enumerate(open_ref) if c.isalpha()), len(open_ref)) + 1].lower()
    assert complete(f"gateway conversations show {typed}") == [open_ref.lower() if typed.islower() else open_ref]


@pytest.mark.integration
def test_install_completion_writes_the_script_bash_sources(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "SHELL": "/bin/bash"}
    done = subprocess.run([str(GATEWAY), "--install-completion", "bash"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    script = tmp_path / ".bash_completions" / "gateway.sh"
    assert "_GATEWAY_COMPLETE=complete_bash" in script.read_text()
    assert str(script) in (tmp_path / ".bashrc").read_text()
    # A new bash that reads .bashrc has the completion function registered for `gateway`.
    shown = subprocess.run(["bash", "-ic", "complete -p gateway"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert "gateway" in shown.stdout, shown.stderr
