"""Helpers the tests share: sample mail, running workers until idle, reading the store."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from pathlib import Path

from sqlmodel import col, select

from gateway.inbound.accept import Envelope, accept
from gateway.models import Conversation, Message, OutboxItem
from gateway.pipeline import Processor
from gateway.store import Store

MAIL = Path(__file__).parent / "mail"
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def load_raw(name: str) -> bytes:
    return (MAIL / name).read_bytes()


@dataclass
class FixedClock:
    """A clock the test moves by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 9, 30, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def run_until_idle(*workers: Callable[[], int], rounds: int = 100) -> None:
    """Call each worker's run_once until none of them finds anything to do."""
    for _ in range(rounds):
        if sum(run_once() for run_once in workers) == 0:
            return
    raise AssertionError("workers never became idle")


def make_mail(sender: str = "Anne Example <anne@customer.example>", to: str = "support@example.com",
              subject: str = "Printer offline", body: str = "Hello, my printer says it is offline.\n",
              message_id: str | None = "<req-1@customer.example>", date: datetime | None = None,
              **headers: str) -> bytes:
    """A plain message as a mail client sends it (CRLF); extra headers as keyword arguments."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(date or datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    if message_id:
        mail["Message-ID"] = message_id
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail.as_bytes(policy=SMTP_POLICY)


def smtp_send(host: str, port: int, raw: bytes, rcpts: list[str], mail_from: str = "anne@customer.example") -> None:
    with smtplib.SMTP(host, port) as client:
        client.sendmail(mail_from, rcpts, raw)


def conversations(store: Store) -> list[Conversation]:
    with store.transaction() as tx:
        return list(tx.exec(select(Conversation).order_by(col(Conversation.id))).all())


def messages(store: Store) -> list[Message]:
    with store.transaction() as tx:
        return list(tx.exec(select(Message).order_by(col(Message.id))).all())


def outbox_items(store: Store) -> list[OutboxItem]:
    with store.transaction() as tx:
        return list(tx.exec(select(OutboxItem).order_by(col(OutboxItem.id))).all())


def deliver(processor: Processor, raw: bytes, rcpts: tuple[str, ...] = ("support@example.com",),
            mail_from: str = "anne@customer.example", source: str = "smtp") -> int:
    """Accept one message as the SMTP listener would, then process everything stored; return its raw id."""
    rt = processor.rt
    raw_id = accept(raw, Envelope(mail_from, rcpts, "127.0.0.1", source), store=rt.store, now=rt.clock())
    run_until_idle(processor.run_once)
    return raw_id
