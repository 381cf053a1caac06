"""The agents' desk (real SMTP in, a real SMTP sink as the relay) with what survey tests need on top."""

from __future__ import annotations

import itertools
import re
from email.message import EmailMessage

import pytest
from sqlmodel import col, select

from gateway.config import Settings, replace
from gateway.models import Conversation, Note, Survey
from gateway.store import Store
from tests.agents.conftest import Desk, desk, desk_settings, text_of  # noqa: F401 (fixtures used by the tests)
from tests.helpers import make_mail

CUSTOMER = "anne@customer.example"
_ids = itertools.count(1)


@pytest.fixture
def settings(settings) -> Settings:
    """With the public address survey links are built from: without one, no survey goes out."""
    return replace(settings, web={"public_url": "https://support.example.com"})


def customer_writes(desk: Desk, subject: str = "Printer offline", customer: str = CUSTOMER,
                    **headers: str) -> dict[str, EmailMessage]:
    """A customer's new mail; returns what each agent and the customer got for it."""
    n = next(_ids)
    desk.send(make_mail(sender=customer, subject=subject, message_id=f"<req-{n}@customer.example>",
                        body=f"Hello, {subject.lower()} (message {n}).\n", **headers), "support@example.com", customer)
    mails = desk.take()
    return {"alice": desk.to("alice@example.com", mails)[0], "customer": desk.to(customer, mails)[0]}


def agent_answers(desk: Desk, notification: EmailMessage, body: str = "Please restart it; that fixes it.",
                  commands: str = "#close", agent: str = "alice@example.com") -> list[EmailMessage]:
    """The agent replies from their own client (commands first, as agents write them); returns what was sent."""
    to = notification["Reply-To"].addresses[0].addr_spec
    text = "\r\n".join(filter(None, [*commands.split("\n"), "", body])) if commands else body
    raw = (f"From: Alice <{agent}>\r\nTo: {to}\r\nSubject: Re: {notification['Subject']}\r\n"
           f"Message-ID: <agent-{next(_ids)}@example.com>\r\nIn-Reply-To: {notification['Message-ID']}\r\n"
           f"\r\n{text}\r\n\r\nOn Mon, 2 Mar 2026, Support wrote:\r\n"
           "> ##- Reply above this line to answer the customer -##\r\n").encode()
    desk.send(raw, to, agent)
    return desk.take()


def customer_replies(desk: Desk, to_mail: EmailMessage, body: str, customer: str = CUSTOMER) -> list[EmailMessage]:
    """The customer answers one of our mails from their client (threaded, to its Reply-To)."""
    to = to_mail["Reply-To"].addresses[0].addr_spec
    raw = make_mail(sender=customer, to=to, subject=f"Re: {to_mail['Subject']}",
                    message_id=f"<reply-{next(_ids)}@customer.example>", body=body,
                    In_Reply_To=to_mail["Message-ID"], References=to_mail["Message-ID"])
    desk.send(raw, to, customer)
    return desk.take()


def surveys_in(mails: list[EmailMessage]) -> list[EmailMessage]:
    return [m for m in mails if "How did we do?" in text_of(m)]


def survey_rows(store: Store) -> list[Survey]:
    with store.reading() as tx:
        return list(tx.exec(select(Survey).order_by(col(Survey.id))).all())


def notes(store: Store, kind: str) -> list[str]:
    with store.reading() as tx:
        return list(tx.exec(select(Note.body).where(Note.kind == kind).order_by(col(Note.id))).all())


def conversation(store: Store, ref: str) -> Conversation:
    with store.reading() as tx:
        return tx.exec(select(Conversation).where(Conversation.ref == ref)).one()


def ref_of(mail: EmailMessage) -> str:
    found = re.search(r"\[#([A-Z2-9]{8})\]", str(mail["Subject"]))
    assert found, mail["Subject"]
    return found.group(1)
