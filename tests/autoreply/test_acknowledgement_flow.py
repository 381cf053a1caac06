"""End to end over real SMTP: the acknowledgement a customer receives, with real numbers from the store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from gateway.cli import app

from gateway.config import Settings, replace
from gateway.models import Conversation, Customer, Incident, Note, OutboxItem
from gateway.outbound.sender import OutboxSender
from gateway.outbound.transport import SmtpTransport
from gateway.pipeline import Processor
from gateway.reply_token import ref_from_bounce_address
from gateway.runtime import Runtime
from tests.conftest import SECRET, listening
from tests.helpers import MAIL, conversations, make_mail, run_until_idle, smtp_send

ARTICLES = Path(__file__).parent / "articles"
SATURDAY = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)  # 11:00 in Berlin (CET)
MONDAY = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # 10:30 in Berlin


@pytest.fixture
def settings(settings, relay_sink):
    return replace(settings, hours={"timezone": "Europe/Berlin"},
                   selfhelp={"articles": str(ARTICLES), "status_page": "https://status.example.com"},
                   mail={"admins": ("ops@example.com",)},
                   relay={"host": "127.0.0.1", "port": relay_sink.port})


def seed_history(store, before: datetime, answered_after: tuple[timedelta, ...]) -> None:
    """Two answered conversations on each of the 20 weekdays before `before`, opened at 10:00 Berlin time."""
    day, seeded = before.date(), 0
    with store.transaction() as tx:
        customer = Customer(address="earlier@customer.example", created_at=before - timedelta(days=60))
        tx.add(customer)
        tx.flush()
        while seeded < 40:
            day -= timedelta(days=1)
            if day.weekday() >= 5:
                continue
            for _ in range(2):
                opened = datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)
                tx.add(Conversation(ref=f"SEED{seeded:04d}", channel="support@example.com", created_at=opened,
                                    updated_at=opened, customer_id=customer.id,
                                    first_response_at=opened + answered_after[seeded % len(answered_after)]))
                seeded += 1


def write_and_receive(gateway, processor, relay_sender, relay_sink, raw: bytes,
                      to: str = "support@example.com") -> list:
    smtp_send(gateway.hostname, gateway.port, raw, [to])
    run_until_idle(processor.run_once, relay_sender.run_once)
    received = list(relay_sink.handler.received)
    relay_sink.handler.received.clear()
    return received


def crlf(name: str) -> bytes:
    """A sample as it travels over SMTP: CRLF line ends."""
    return (MAIL / "autoreply" / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def text_of(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()


@pytest.mark.integration
def test_saturday_mail_is_told_we_are_closed_and_to_expect_a_reply_on_monday_morning(
        smtp_gateway, processor, relay_sender, relay_sink, store, clock):
    clock.now = SATURDAY
    seed_history(store, SATURDAY, (timedelta(hours=1), timedelta(hours=2), timedelta(hours=2), timedelta(hours=3)))
    with store.transaction() as tx:
        tx.add(Incident(title="Mail delivery delays", kind="outage", opened_at=SATURDAY - timedelta(hours=1),
                        updated_at=SATURDAY - timedelta(hours=1)))
    raw = make_mail(subject="Forgot my password", body="Hi, I forgot my password and cannot log in anymore.\n")

    [received] = write_and_receive(smtp_gateway, processor, relay_sender, relay_sink, raw)

    ack = message_from_bytes(received.raw, policy=default)
    text = text_of(ack)
    assert "closed for the weekend" in text
    # Two business hours (the measured median) from Monday's 09:00 opening.
    assert "on Monday by about 11:00 CET" in text
    assert "Mail delivery delays" in text
    assert "https://help.northdesk.example/en/articles/reset-password" in text
    assert "https://status.example.com" in text
    [conversation] = [c for c in conversations(store) if not c.ref.startswith("SEED")]
    assert conversation.ref in text and ack["Subject"] == f"Re: Forgot my password [#{conversation.ref}]"
    html = ack.get_body(("html",)).get_content()
    assert 'name="color-scheme"' in html and "reset-password" in html


@pytest.mark.integration
def test_auto_reply_headers_follow_rfc_3834_and_go_out_with_a_null_envelope_sender(
        smtp_gateway, processor, relay_sender, relay_sink, store, clock):
    [received] = write_and_receive(smtp_gateway, processor, relay_sender, relay_sink, make_mail())
    ack = message_from_bytes(received.raw, policy=default)
    assert received.mail_from == "<>"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["X-Auto-Response-Suppress"] == "All"
    assert ack["Precedence"] == "auto_reply"
    assert ack["X-Gateway-Loop"] == "support@example.com"


@pytest.mark.integration
def test_weekday_mail_states_the_measured_typical_reply_time(
        smtp_gateway, processor, relay_sender, relay_sink, store, clock):
    clock.now = MONDAY
    seed_history(store, MONDAY, (timedelta(hours=2), timedelta(hours=2), timedelta(hours=2), timedelta(hours=5)))
    [received] = write_and_receive(smtp_gateway, processor, relay_sender, relay_sink, make_mail())
    text = text_of(message_from_bytes(received.raw, policy=default))
    assert "usually within 2 hours" in text
    assert "by about 12:30 CET today" in text
    assert "Mail delivery delays" not in text


@pytest.mark.integration
def test_with_too_little_history_the_configured_fallback_is_stated(
        smtp_gateway, processor, relay_sender, relay_sink, store, clock):
    clock.now = MONDAY  # Fallback 4 working hours from 10:30: 14:30.
    [received] = write_and_receive(smtp_gateway, processor, relay_sender, relay_sink, make_mail())
    text = text_of(message_from_bytes(received.raw, policy=default))
    assert "usually within 4 hours" in text and "by about 14:30 CET today" in text


@pytest.mark.integration
def test_a_mail_about_nothing_in_the_help_centre_gets_no_article_suggestions(
        smtp_gateway, processor, relay_sender, relay_sink, store, clock):
    raw = make_mail(subject="Hello", body="Can we have a call about our contract next week?\n")
    [received] = write_and_receive(smtp_gateway, processor, relay_sender, relay_sink, raw)
    assert "help.northdesk.example" not in text_of(message_from_bytes(received.raw, policy=default))


@contextmanager
def gateway_with(settings: Settings, store, clock) -> Iterator[tuple]:
    """A listener, processor and relay sender on settings of the test's own."""
    processor = Processor(Runtime(store, settings, SECRET, clock))
    sender = OutboxSender(store, settings, SmtpTransport(settings.relay), clock)
    with listening(settings, store, clock) as gateway:
        yield gateway, processor, sender
    sender.transport.close()


@pytest.mark.integration
@pytest.mark.parametrize("sample", ["nameless_request.eml", "address_as_name_request.eml"])
def test_a_customer_who_sent_no_name_is_greeted_without_one(store, clock, relay_sink, settings, sample):
    with gateway_with(settings, store, clock) as (gateway, processor, sender):
        [received] = write_and_receive(gateway, processor, sender, relay_sink, crlf(sample))
    ack = message_from_bytes(received.raw, policy=default)
    assert ack["To"].addresses[0].addr_spec == "anne@customer.example"
    assert text_of(ack).splitlines()[0] == "Hi there,"
    assert '<p style="margin:0 0 1em;">Hi there,</p>' in ack.get_body(("html",)).get_content()


@pytest.mark.integration
def test_beta_channel_is_thanked_for_feedback(store, clock, relay_sink, settings):
    settings = replace(settings, mail={"addresses": ("support@example.com", "beta@example.com")})
    raw = make_mail(to="beta@example.com", subject="Feedback on the new editor",
                    body="The new editor loses my cursor position when I paste.\n")
    with gateway_with(settings, store, clock) as (gateway, processor, sender):
        [received] = write_and_receive(gateway, processor, sender, relay_sink, raw, to="beta@example.com")
    ack = message_from_bytes(received.raw, policy=default)
    assert ack["From"].addresses[0].addr_spec == "beta@example.com"
    assert "beta" in text_of(ack).lower() and "feedback" in text_of(ack).lower()


@pytest.mark.integration
def test_a_customer_writing_german_gets_the_german_acknowledgement(store, clock, relay_sink, settings):
    settings = replace(settings, autoreply={"languages": ("en", "de")})
    with gateway_with(settings, store, clock) as (gateway, processor, sender):
        [received] = write_and_receive(gateway, processor, sender, relay_sink, crlf("german_request.eml"))
    text = text_of(message_from_bytes(received.raw, policy=default))
    assert "Hallo" in text and "Passwort zurücksetzen" in text
    assert conversations(store)[0].language == "de"


@pytest.mark.integration
def test_verp_envelope_lets_a_bounce_name_the_dead_address_and_stops_later_auto_replies(
        store, clock, relay_sink, settings):
    settings = replace(settings, autoreply={"envelope": "verp"})
    with gateway_with(settings, store, clock) as (gateway, processor, sender):
        [received] = write_and_receive(gateway, processor, sender, relay_sink, make_mail())
        verp = received.mail_from
        [conversation] = conversations(store)
        assert ref_from_bounce_address(SECRET, verp) == conversation.ref
        # The customer's server bounces it to the VERP address (a plain-text bounce, as qmail writes them).
        bounce = crlf("qmail_bounce.eml")
        smtp_send(gateway.hostname, gateway.port, bounce, [verp], mail_from="")
        run_until_idle(processor.run_once)
        clock.advance(minutes=5)
        later = write_and_receive(gateway, processor, sender, relay_sink,
                                  make_mail(subject="Another thing", message_id="<req-2@customer.example>"))
    assert later == []
    with store.reading() as tx:
        assert tx.exec(select(Customer.bounced_at).where(Customer.address == "anne@customer.example")).one()
        notes = tx.exec(select(Note.body).where(Note.kind == "not_acknowledged")).all()
    assert any("hard-bounced" in n for n in notes)


@pytest.mark.integration
def test_an_admins_override_set_through_the_cli_is_what_the_next_customer_receives(
        smtp_gateway, processor, relay_sender, relay_sink, store, database_url, tmp_path, monkeypatch):
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    override = tmp_path / "ack.txt"
    override.write_text("#===== subject =====\n{{ reply_subject }} [#{{ ref }}]\n#===== text =====\n"
                        "Hello {{ customer_name or 'there' }}, got it ({{ ref }}); expect us {{ response.expected_by }}.\n"
                        "#===== html =====\n\n")
    result = CliRunner().invoke(app, ["templates", "set", "acknowledgement", "--file", str(override)],
                                env={"GATEWAY_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output

    [received] = write_and_receive(smtp_gateway, processor, relay_sender, relay_sink, make_mail())

    ack = message_from_bytes(received.raw, policy=default)
    assert ack.get_content_type() == "text/plain"
    assert ack.get_content().startswith("Hello Anne, got it (")
    with store.reading() as tx:
        assert tx.exec(select(OutboxItem.template).where(OutboxItem.kind == "acknowledgement")).one() == \
            "acknowledgement"
