"""The report over mail that really went through the gateway: real SMTP in, real agent replies, a reopen."""

from __future__ import annotations

import json

from sqlmodel import select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.models import Conversation, Note
from tests.agents.conftest import Desk, desk, desk_settings  # noqa: F401 (fixtures)
from tests.agents.test_agent_flow import open_conversation

runner = CliRunner()


def test_a_reply_a_close_and_a_reopen_by_mail_show_in_the_report(desk: Desk, store, database_url, monkeypatch):
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    got = open_conversation(desk)  # Monday 2 March 2026, 09:30 UTC
    desk.clock.advance(hours=1)
    desk.agent_replies("mutt.eml", "alice@example.com", got["alice"])
    desk.agent_replies("gmail_commands_only.eml", "alice@example.com", got["alice"])
    desk.clock.advance(hours=2)
    with store.reading() as tx:
        ref = tx.exec(select(Conversation.ref)).one()
    desk.customer_writes(subject=f"Re: Printer offline [#{ref}]", message_id="<req-2@customer.example>",
                         body="It is offline again.\n")
    with store.reading() as tx:
        assert tx.exec(select(Note.kind).where(Note.kind == "reopened")).all() == ["reopened"]
    result = runner.invoke(app, ["report", "--since", "2026-03-01", "--until", "2026-03-08", "--json", "--by-agent"],
                           env={"GATEWAY_DATABASE_URL": database_url})
    data = json.loads(result.output)
    total = data["total"]
    assert (total["new_conversations"], total["messages_in"], total["messages_out"]) == (1, 2, 1)
    assert total["first_response_wall"]["median"] == 1.0 and total["first_response_business"]["median"] == 1.0
    assert (total["reopened"], total["reopened_share"], total["acknowledgements"]) == (1, 1.0, 1)
    assert data["agents"] == [{"agent": "alice@example.com", "replies": 1, "conversations": 1,
                               "resolved_assigned": 0}]
