"""`gateway messages reprocess`: stored mail through the pipeline again, never twice."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import gateway.cli.messages
import gateway.pipeline
from gateway.cli import app
from tests.helpers import conversations, deliver, make_mail, outbox_items

runner = CliRunner()


@pytest.fixture
def stored(processor, monkeypatch) -> list[int]:
    """One processed mail, then three that a bug quarantined."""
    ids = [deliver(processor, make_mail())]

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug in this version")

    with monkeypatch.context() as patch:
        patch.setattr(gateway.pipeline, "process_in", broken)
        for n in range(3):
            ids.append(deliver(processor, make_mail(sender=f"C{n} <c{n}@customer.example>", subject=f"Help {n}",
                                                    message_id=f"<h{n}@x>")))
    return ids


def _outcomes(result) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_reprocess_replays_quarantined_mail_and_leaves_processed_mail_alone(env, stored, store):
    result = runner.invoke(app, ["messages", "reprocess", *map(str, stored[:2]), "--json"], env=env)
    assert result.exit_code == 0, result.output
    processed, replayed = _outcomes(result)
    assert (processed["before"], processed["after"], processed["reason"]) == ("processed", "processed",
                                                                              "already processed")
    assert (replayed["before"], replayed["after"]) == ("quarantined", "processed") and replayed["conversation"]
    assert len(conversations(store)) == 2
    again = runner.invoke(app, ["messages", "reprocess", str(stored[1]), "--json"], env=env)
    assert _outcomes(again)[0]["after"] == "processed" and len(conversations(store)) == 2
    assert [i.kind for i in outbox_items(store)].count("acknowledgement") == 2


def test_reprocess_since_takes_every_waiting_or_quarantined_mail_with_a_progress_count(env, stored, store):
    result = runner.invoke(app, ["messages", "reprocess", "--since", "2026-03-01"], env=env)
    assert result.exit_code == 0, result.output
    assert "reprocess: 3/3 (100%), done in" in result.stderr
    assert result.stdout.strip().splitlines()[-1] == "reprocessed 3 mails (3 processed)"
    assert len(conversations(store)) == 4


def test_an_interrupted_reprocess_carries_on_when_run_again(env, stored, store, monkeypatch):
    real = gateway.cli.messages.replay
    calls = []

    def interrupted(processor, batch, *rest):  # type: ignore[no-untyped-def]
        calls.append(batch)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(processor, batch, *rest)

    monkeypatch.setattr(gateway.cli.messages, "BATCH", 1)
    monkeypatch.setattr(gateway.cli.messages, "replay", interrupted)
    result = runner.invoke(app, ["messages", "reprocess", "--since", "2026-03-01"], env=env)
    assert result.exit_code == 130
    assert "interrupted after 1 of 3; run the same command again to carry on" in result.stderr
    assert len(conversations(store)) == 2
    monkeypatch.setattr(gateway.cli.messages, "replay", real)
    again = runner.invoke(app, ["messages", "reprocess", "--since", "2026-03-01"], env=env)
    assert again.exit_code == 0 and "reprocessed 2 mails" in again.stdout
    assert len(conversations(store)) == 4


@pytest.mark.parametrize(("args", "code", "says"), [
    (["messages", "reprocess"], 2, "give raw mail ids (`gateway quarantine list` shows them) or --since 2d"),
    (["messages", "reprocess", "1", "--since", "2d"], 2, "give raw mail ids or --since, not both"),
    (["messages", "reprocess", "--since", "yesterday"], 2, "--since 'yesterday' is not a time; write 30d (ago)"),
    (["messages", "reprocess", "1", "999"], 1, "no stored mail with id 999; `gateway quarantine list` shows ids"),
])
def test_bad_reprocess_usage_is_one_line(env, stored, args, code, says):
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == code and says in result.stderr and len(result.stderr.strip().splitlines()) == 1
