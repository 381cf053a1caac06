"""`gateway doctor` on IMAP mailboxes, against a real Dovecot: one line per problem, with its fix."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from tests.helpers import free_port
from tests.servers.dovecot import PASSWORD, USER

pytestmark = pytest.mark.integration


def doctor(database_url, monkeypatch, relay_sink, *mailboxes: dict) -> tuple[int, list[dict]]:
    """Exit code and IMAP findings of `gateway doctor`, everything else it checks being healthy."""
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    env = {"GATEWAY_DATABASE_URL": database_url, "GATEWAY_RELAY_PORT": str(relay_sink.port),
           "GATEWAY_SMTP_PORT": str(free_port()), "GATEWAY_IMAP_MAILBOX": json.dumps(list(mailboxes)),
           "GATEWAY_IMAP_TIMEOUT": "5s", "GATEWAY_WEB_PUBLIC_URL": "https://support.example.com"}
    result = CliRunner().invoke(app, ["doctor", "--json"], env=env)
    return result.exit_code, [f for f in map(json.loads, result.output.splitlines()) if f["check"].startswith("imap")]


def box(dovecot, tls_files, **keys) -> dict:
    return {"host": "127.0.0.1", "port": dovecot.ssl_port, "ca_file": tls_files[0], "user": USER,
            "password": PASSWORD, **keys}


def test_a_healthy_mailbox_is_one_ok_line(store, database_url, relay_sink, dovecot, tls_files, monkeypatch):
    code, findings = doctor(database_url, monkeypatch, relay_sink,
                            box(dovecot, tls_files, after="move", move_to="Done"))
    assert code == 0
    [finding] = findings
    assert finding["ok"] and "logged in, 0 message(s) in INBOX" in finding["detail"]
    assert "IDLE" in finding["detail"] and "Done (created on first use)" in finding["detail"]


def test_each_broken_mailbox_is_one_line_with_its_fix(store, database_url, relay_sink, dovecot, tls_files,
                                                      monkeypatch):
    code, findings = doctor(database_url, monkeypatch, relay_sink,
                            box(dovecot, tls_files, password="wrong"),
                            box(dovecot, tls_files, folder="Support"),
                            box(dovecot, tls_files, port=1, user="other"))
    assert code == 1
    assert [(f["ok"], f["detail"].split(" (")[0]) for f in findings] == [
        (False, f"127.0.0.1:{dovecot.ssl_port} refused the login of {USER}"),
        (False, "folder 'Support' does not exist"),
        (False, "cannot connect to 127.0.0.1:1"),
    ]
    assert all(f["fix"] for f in findings)
    assert "there: INBOX" in findings[1]["detail"]


def test_no_mailboxes_is_fine(store, database_url, relay_sink, monkeypatch):
    code, findings = doctor(database_url, monkeypatch, relay_sink)
    assert code == 0 and findings[0]["detail"].startswith("no mailboxes configured")
