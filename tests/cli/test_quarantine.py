"""`gateway quarantine list | show` shows what the gateway refused to act on, and why."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from gateway.cli import app
from gateway.models import Agent
from gateway.reply_token import agent_address
from tests.conftest import SECRET
from tests.helpers import deliver, make_mail

runner = CliRunner()


def test_a_spoofed_agent_reply_shows_in_the_quarantine_with_its_reason(processor, store, database_url,
                                                                       monkeypatch) -> None:
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    env = {"GATEWAY_DATABASE_URL": database_url, "GATEWAY_MAIL_SECRET": SECRET}
    with store.transaction() as tx:
        tx.add(Agent(address="alice@example.com", name="Alice"))
    token = agent_address(SECRET, "support@example.com", "K7Q2M9XA", "alice@example.com")
    deliver(processor, make_mail(sender="Mallory <mallory@evil.example>", to=token, message_id="<m@evil>"))
    listed = runner.invoke(app, ["quarantine", "list", "--json"], env=env)
    (row,) = [json.loads(line) for line in listed.output.splitlines()]
    assert row["stage"] == "authenticate" and "alice@example.com's reply address" in row["reason"]
    shown = runner.invoke(app, ["quarantine", "show", str(row["id"])], env=env)
    assert shown.exit_code == 0 and "mallory@evil.example" in shown.output and "printer" in shown.output
    missing = runner.invoke(app, ["quarantine", "show", "999"], env=env)
    assert missing.exit_code == 1 and "gateway quarantine list" in missing.output
