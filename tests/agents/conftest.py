"""A desk with two agents, a real SMTP listener in front and a real SMTP sink as the relay."""

from __future__ import annotations

import email
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default

import pytest

from gateway.config import replace
from gateway.models import Agent
from gateway.outbound.sender import OutboxSender
from gateway.outbound.transport import SmtpTransport
from gateway.pipeline import Processor
from gateway.runtime import Runtime
from gateway.scheduler import Scheduler
from tests.conftest import SECRET, listening
from tests.helpers import MAIL, FixedClock, make_mail, run_until_idle

REPLIES = MAIL / "agent_replies"


@dataclass
class Desk:
    """Customer and agents talking to the gateway over SMTP; what the relay got, parsed."""

    host: str
    port: int
    processor: Processor
    sender: OutboxSender
    scheduler: Scheduler
    sink: object
    clock: FixedClock

    def send(self, raw: bytes, to: str, mail_from: str) -> None:
        with smtplib.SMTP(self.host, self.port) as client:
            client.sendmail(mail_from, [to], raw)
        self.settle()

    def settle(self) -> None:
        run_until_idle(self.processor.run_once, self.scheduler.run_once, self.sender.run_once)

    def customer_writes(self, **fields: str) -> None:
        self.send(make_mail(**fields), "support@example.com", "anne@customer.example")

    def delivered(self) -> list[EmailMessage]:
        return [email.message_from_bytes(r.raw, policy=default) for r in self.sink.handler.received]  # type: ignore[attr-defined]

    def take(self) -> list[EmailMessage]:
        """What the relay received since the last take()."""
        mails = self.delivered()
        self.sink.handler.received.clear()  # type: ignore[attr-defined]
        return mails

    def to(self, address: str, mails: list[EmailMessage]) -> list[EmailMessage]:
        return [m for m in mails if address in str(m["To"])]

    def agent_replies(self, sample: str, agent: str, notification: EmailMessage, **extra: str) -> None:
        """Send a real client's reply (tests/mail/agent_replies) to a notification, as that agent."""
        token_address = notification["Reply-To"].addresses[0].addr_spec
        token = token_address.partition("+")[2].partition("@")[0]
        ref = str(notification["Subject"]).split("]")[0].removeprefix("[#")
        raw = (REPLIES / sample).read_bytes()
        for key, value in {"@@AGENT@@": agent, "@@TOKEN@@": token, "@@NOTIFICATION_ID@@": notification["Message-ID"],
                           "@@REFERENCES@@": str(notification["References"]), "@@REF@@": ref, **extra}.items():
            raw = raw.replace(key.encode(), value.encode())
        self.send(raw, token_address, agent)


def text_of(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    return body.get_content().replace("\r\n", "\n") if body is not None else ""


@pytest.fixture
def desk_settings(settings, relay_sink, tmp_path):
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "restart.txt").write_text("Hi {{ customer_name }}, a restart usually fixes this ({{ ref }}).\n")
    return replace(settings, relay={"host": "127.0.0.1", "port": relay_sink.port},
                   agents={"saved_replies": str(saved)})


@pytest.fixture
def desk(desk_settings, store, clock, relay_sink) -> Iterator[Desk]:
    with store.transaction() as tx:
        tx.add(Agent(address="alice@example.com", name="Alice", tier=1))
        tx.add(Agent(address="bob@example.com", name="Bob", tier=2))
    rt = Runtime(store, desk_settings, SECRET, clock)
    sender = OutboxSender(store, desk_settings, SmtpTransport(desk_settings.relay), clock)
    with listening(desk_settings, store, clock) as controller:
        yield Desk(controller.hostname, controller.port, Processor(rt), sender, Scheduler(rt), relay_sink, clock)
    sender.transport.close()
