"""What an agent sees at a glance: partner and beta flags, the customer's history, their files."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import SMTP, default

import pytest

from gateway.config import replace
from tests.agents.conftest import Desk, text_of
from tests.helpers import conversations, make_mail


@pytest.fixture
def desk_settings(settings, relay_sink):
    return replace(settings, relay={"host": "127.0.0.1", "port": relay_sink.port},
                   partners={"members": ("@customer.example",), "tier": 2},
                   channels={"beta": ("billing@example.com",)})


def with_file(raw: bytes) -> bytes:
    mail = email.message_from_bytes(raw, policy=default)
    assert isinstance(mail, EmailMessage)
    mail.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="invoice.pdf")
    return mail.as_bytes(policy=SMTP)


def test_a_partners_beta_mail_goes_to_tier_two_flagged_with_history_and_files(desk: Desk) -> None:
    desk.customer_writes(subject="Invoice missing", message_id="<old@customer.example>")
    desk.take()
    desk.send(with_file(make_mail(to="billing@example.com")), "billing@example.com", "anne@customer.example")
    mails = desk.take()
    assert desk.to("alice@example.com", mails) == [], "partners go straight to tier 2"
    (bob,) = desk.to("bob@example.com", mails)
    assert "[PARTNER] [BETA] Printer offline" in str(bob["Subject"])
    text = text_of(bob)
    assert "PARTNER, tier 2: Anne Example is with a partner." in text
    assert "BETA: this came to billing@example.com" in text
    (earlier,) = [c.ref for c in conversations(desk.processor.rt.store) if c.subject == "Invoice missing"]
    assert f"has 1 earlier conversation:\n  - {earlier} Invoice missing (open)" in text  # the ref: look it up
    assert "Attached (as sent): invoice.pdf (13 bytes)" in text
    assert [p.get_filename() for p in bob.iter_attachments()] == ["invoice.pdf"]
