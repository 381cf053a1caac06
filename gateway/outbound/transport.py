"""Deliver one outbox item: over SMTP to the relay, or into a list (tests, dry runs)."""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from gateway.config import RelaySettings
from gateway.models import OutboxItem


class Outcome(StrEnum):
    SENT = "sent"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    detail: str = ""
    connection_error: bool = False


class Transport(Protocol):
    def send(self, item: OutboxItem) -> SendResult: ...


class MemoryTransport:
    """Keeps what it is asked to send in `sent`."""

    def __init__(self) -> None:
        self.sent: list[OutboxItem] = []

    def send(self, item: OutboxItem) -> SendResult:
        self.sent.append(item)
        return SendResult(Outcome.SENT)


def _by_code(code: int, text: bytes | str) -> SendResult:
    detail = f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    return SendResult(Outcome.PERMANENT if 500 <= code < 600 else Outcome.TEMPORARY, detail)


class SmtpTransport:
    """One SMTP transaction per item to the configured relay."""

    def __init__(self, relay: RelaySettings) -> None:
        self.relay = relay

    def send(self, item: OutboxItem) -> SendResult:
        try:
            with smtplib.SMTP(self.relay.host, self.relay.port,
                              timeout=self.relay.timeout.total_seconds()) as client:
                if self.relay.starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.relay.username:
                    client.login(self.relay.username, self.relay.password)
                refused = client.sendmail(item.mail_from, item.rcpt_tos, item.raw)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            return _by_code(code, text)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError, smtplib.SMTPAuthenticationError) as exc:
            return _by_code(exc.smtp_code, exc.smtp_error)
        except smtplib.SMTPResponseException as exc:
            return _by_code(exc.smtp_code, exc.smtp_error)
        except (OSError, socket.timeout, smtplib.SMTPException) as exc:
            return SendResult(Outcome.TEMPORARY, f"{type(exc).__name__}: {exc}", connection_error=True)
        if refused:
            code, text = next(iter(refused.values()))
            return _by_code(code, text)
        return SendResult(Outcome.SENT)
