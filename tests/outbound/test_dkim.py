"""DKIM: what we send is signed once, verifiable with dkimpy against our key, and a retry is byte-identical."""

from __future__ import annotations

import base64
import json
import logging
import subprocess

import dkim
import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import DkimSettings, replace
from gateway.errors import ConfigError
from gateway.outbound.dkim import dns_record, load_key, sign
from gateway.outbound.sender import OutboxSender
from gateway.outbound.transport import SmtpTransport
from gateway.pipeline import Processor, Runtime
from tests.agents.conftest import Desk, desk  # noqa: F401 (fixture used by the tests)
from tests.conftest import SECRET
from tests.helpers import deliver, make_mail, outbox_items
from tests.surveys.conftest import agent_answers, customer_writes


@pytest.fixture(scope="session")
def dkim_key(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("dkim") / "gateway.key"
    subprocess.run(["openssl", "genrsa", "-out", str(path), "2048"], check=True, capture_output=True)
    return str(path)


@pytest.fixture
def signing(dkim_key) -> DkimSettings:
    return DkimSettings(domain="example.com", selector="gw2026", private_key=dkim_key)


@pytest.fixture
def desk_settings(settings, relay_sink, signing):
    """The agents' desk, signing what it sends, with surveys whose links customers can open."""
    return replace(settings, relay={"host": "127.0.0.1", "port": relay_sink.port}, dkim=signing.__dict__,
                   web={"public_url": "https://support.example.com"})


def signed_headers(raw: bytes) -> list[str]:
    """The h= tag of the mail's DKIM-Signature: the headers it covers, lower case, in order."""
    value = raw.split(b"\r\n\r\n", 1)[0].decode().replace("\r\n", "").split("DKIM-Signature:", 1)[1]
    tags = dict(tag.strip().split("=", 1) for tag in value.split(";") if "=" in tag)
    return ["".join(name.split()).lower() for name in tags["h"].split(":")]


def verifies(raw: bytes, settings: DkimSettings) -> bool:
    name, value = dns_record(settings)

    def dns(query: bytes, timeout: int = 5) -> bytes:
        assert query.decode().rstrip(".") == name
        return value.encode()

    return dkim.verify(raw, dnsfunc=dns)


def test_the_published_record_holds_the_public_half_of_the_key(signing, dkim_key):
    der = subprocess.run(["openssl", "rsa", "-in", dkim_key, "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    name, value = dns_record(signing)
    assert name == "gw2026._domainkey.example.com"
    assert value == f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


def test_every_mail_we_queue_is_signed_and_verifies(store, settings, clock, signing):
    rt = Runtime(store, replace(settings, dkim=signing.__dict__), SECRET, clock)
    deliver(Processor(rt), make_mail())
    [ack] = outbox_items(store)
    assert ack.raw.startswith(b"DKIM-Signature: v=1; a=rsa-sha256;")
    assert b"d=example.com" in ack.raw and b"s=gw2026" in ack.raw
    assert verifies(ack.raw, signing)
    assert not verifies(ack.raw.replace(b"Printer offline", b"Printer online"), signing)


def test_a_survey_signs_its_one_click_unsubscribe_headers(desk: Desk, signing):
    agent_answers(desk, customer_writes(desk)["alice"])
    desk.clock.advance(days=1)
    desk.settle()
    [survey] = [r.raw for r in desk.sink.handler.received if b"List-Unsubscribe-Post:" in r.raw]
    # RFC 8058 section 4: both headers must be covered, or Gmail and Yahoo do not offer one-click unsubscribe.
    assert {"list-unsubscribe", "list-unsubscribe-post"} <= set(signed_headers(survey))
    assert verifies(survey, signing)
    assert not verifies(survey.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=Two-Clicks"), signing)


def test_a_retry_sends_the_identical_signed_bytes(store, settings, clock, signing, relay_sink):
    rt = Runtime(store, replace(settings, dkim=signing.__dict__), SECRET, clock)
    deliver(Processor(rt), make_mail())
    relay = replace(settings, relay={"host": "127.0.0.1", "port": relay_sink.port}).relay
    sender = OutboxSender(store, settings, SmtpTransport(relay), clock)
    relay_sink.handler.reply = "451 4.3.0 try later"
    assert sender.run_once() == 1
    relay_sink.handler.reply = "250 2.0.0 Ok"
    clock.advance(hours=1)
    assert sender.run_once() == 1
    [ack] = outbox_items(store)
    [received] = relay_sink.handler.received
    assert received.raw == ack.raw and verifies(received.raw, signing)


def test_without_a_key_nothing_is_signed(store, settings, clock):
    assert sign(b"From: a@example.com\r\n\r\nx\r\n", DkimSettings()) == b"From: a@example.com\r\n\r\nx\r\n"


def test_a_key_that_breaks_after_start_costs_the_signature_not_the_mail(tmp_path, caplog):
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n")
    settings = DkimSettings(domain="example.com", selector="s", private_key=str(bad))
    with pytest.raises(ConfigError, match="is not a PEM RSA private key"):
        load_key(settings)
    with caplog.at_level(logging.ERROR):
        assert sign(b"From: a@example.com\r\n\r\nx\r\n", settings) == b"From: a@example.com\r\n\r\nx\r\n"
    assert "sending unsigned" in caplog.text


def test_doctor_prints_the_txt_record_to_publish(store, database_url, signing, monkeypatch):
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    env = {"GATEWAY_DATABASE_URL": database_url, "GATEWAY_DKIM_DOMAIN": "example.com",
           "GATEWAY_DKIM_SELECTOR": "gw2026", "GATEWAY_DKIM_PRIVATE_KEY": signing.private_key}
    result = CliRunner().invoke(app, ["doctor", "--json"], env=env)
    [finding] = [json.loads(line) for line in result.output.splitlines() if json.loads(line)["check"] == "dkim"]
    assert finding["ok"] and 'gw2026._domainkey.example.com. IN TXT "v=DKIM1; k=rsa; p=' in finding["detail"]
    env["GATEWAY_DKIM_PRIVATE_KEY"] = "/nonexistent.key"
    result = CliRunner().invoke(app, ["doctor"], env=env)
    assert result.exit_code == 1 and "FAIL  dkim: [dkim] private_key: cannot read /nonexistent.key" in result.output
