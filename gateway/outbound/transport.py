"""Deliver one outbox item: over SMTP to the relay, or into a list (tests, dry runs)."""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from gateway.config import RelaySettings
from gateway.models import OutboxItem


# One send (reconnecting, STARTTLS, AUTH and the mail itself) is cut off after this many relay timeouts: each
# read is bounded by the timeout, but a relay that trickles its answers could stretch a send past the lease
# that keeps another gateway from sending the same mail.
SEND_TIMEOUTS = 6


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

    def close(self) -> None: ...


class MemoryTransport:
    """Keeps what it is asked to send in `sent`."""

    def __init__(self) -> None:
        self.sent: list[OutboxItem] = []

    def send(self, item: OutboxItem) -> SendResult:
        self.sent.append(item)
        return SendResult(Outcome.SENT)

    def close(self) -> None:
        pass


def _by_code(code: int, text: bytes | str) -> SendResult:
    detail = f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    return SendResult(Outcome.PERMANENT if 500 <= code < 600 else Outcome.TEMPORARY, detail)


class SmtpTransport:
    """SMTP to the configured relay, keeping one connection open while there is mail to send."""

    def __init__(self, relay: RelaySettings) -> None:
        self.relay = relay
        self._client: smtplib.SMTP | None = None

    def _connection(self) -> smtplib.SMTP:
        # A reused connection is checked before any mail goes over it: if the relay dropped it, we find out
        # while nothing has been sent, so a fresh connection can never deliver a mail twice.
        if self._client is not None:
            try:
                if self._client.noop()[0] == 250:
                    return self._client
            except (OSError, smtplib.SMTPException):
                pass
            self.close()
        client = smtplib.SMTP(timeout=self.relay.timeout.total_seconds())
        # The name STARTTLS checks the certificate against; the constructor sets it only when it connects itself.
        client._host = self.relay.host  # type: ignore[attr-defined]
        self._client = client  # Before connecting, so the send's deadline cuts off a slow greeting too.
        try:
            client.connect(self.relay.host, self.relay.port)
            if self.relay.starttls:
                client.starttls(context=ssl.create_default_context(cafile=self.relay.ca_file or None))
            if self.relay.username:
                client.login(self.relay.username, self.relay.password)
        except BaseException:
            self._client = None
            client.close()
            raise
        return client

    def _cut(self) -> None:
        """The send's deadline passed: end the connection, so the read waiting on it fails at once."""
        sock = self._client.sock if self._client is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def send(self, item: OutboxItem) -> SendResult:
        deadline = threading.Timer(self.relay.timeout.total_seconds() * SEND_TIMEOUTS, self._cut)
        deadline.daemon = True
        deadline.start()
        try:
            return self._send(item)
        finally:
            deadline.cancel()

    def _send(self, item: OutboxItem) -> SendResult:
        try:
            client = self._connection()
        except (OSError, smtplib.SMTPException) as exc:
            # Unreachable, TLS or login trouble is the relay's or the config's, never this mail's: retry later.
            self.close()
            return SendResult(Outcome.TEMPORARY, f"{type(exc).__name__}: {exc}", connection_error=True)
        try:
            refused = client.sendmail(item.mail_from, item.rcpt_tos, item.raw)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (550, "no recipients"))
            return _by_code(code, text)
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code in (421, -1):
                self.close()
            return _by_code(exc.smtp_code, exc.smtp_error)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            return SendResult(Outcome.TEMPORARY, f"{type(exc).__name__}: {exc}", connection_error=True)
        if refused:
            code, text = next(iter(refused.values()))
            return _by_code(code, text)
        return SendResult(Outcome.SENT)

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.quit()
            except (OSError, smtplib.SMTPException):
                self._client.close()
            self._client = None
