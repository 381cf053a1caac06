"""SmtpTransport against relays that misbehave on the wire."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from gateway.config import RelaySettings
from gateway.models import OutboxItem
from gateway.outbound.transport import Outcome, SmtpTransport

pytestmark = pytest.mark.integration


def _trickling_relay(listener: socket.socket, pause: float, hung_up: threading.Event, where: str) -> None:
    """A relay that answers one thing (its greeting, or DATA) one byte at a time: no single read waits as long as
    the timeout, yet the answer takes seconds. `hung_up` is set when the sender ends the connection in it."""

    def answer(text: bytes, slowly: bool) -> bool:
        try:
            for chunk in ([bytes([b]) for b in text] if slowly else [text]):
                conn.sendall(chunk)
                time.sleep(pause if slowly else 0)
        except OSError:
            hung_up.set()
            return False
        return True

    conn, _ = listener.accept()
    with conn, conn.makefile("rb") as lines:
        if not answer(b"220-slow.example ESMTP, one moment\r\n" * 2 + b"220 slow.example ready\r\n",
                      where == "greeting"):
            return
        for line in lines:
            command = line.strip().upper()
            if command.startswith((b"EHLO", b"HELO", b"MAIL", b"RCPT")):
                conn.sendall(b"250 ok\r\n")
            elif command == b"DATA":
                if not answer(b"354 go ahead, end your mail with <CRLF>.<CRLF>\r\n", where == "data"):
                    return
                for body_line in lines:
                    if body_line == b".\r\n":
                        break
                conn.sendall(b"250 2.0.0 queued\r\n")
            elif command == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                hung_up.set()  # The connection ended, or something else came than a full answer waited for.
                return


@pytest.fixture(params=["greeting", "data"])
def trickling_relay(request: pytest.FixtureRequest) -> Iterator[tuple[int, threading.Event]]:
    listener, hung_up = socket.create_server(("127.0.0.1", 0)), threading.Event()
    server = threading.Thread(target=_trickling_relay, args=(listener, 0.1, hung_up, request.param), daemon=True)
    server.start()
    yield listener.getsockname()[1], hung_up
    server.join(timeout=10)
    listener.close()


def test_a_relay_that_trickles_its_answer_is_cut_off_after_the_send_deadline(
        trickling_relay: tuple[int, threading.Event]) -> None:
    port, hung_up = trickling_relay
    # Each byte comes well within the 0.2 s timeout; either answer would take 5 s or more, past 6 timeouts (1.2 s).
    transport = SmtpTransport(RelaySettings(host="127.0.0.1", port=port, timeout=timedelta(seconds=0.2)))
    now = datetime.now(UTC)
    item = OutboxItem(kind="acknowledgement", message_id="<m@example.com>", mail_from="support@example.com",
                      rcpt_tos=["anne@customer.example"], raw=b"Subject: hi\r\n\r\nhello\r\n", created_at=now,
                      next_attempt_at=now, expires_at=now)
    result = transport.send(item)
    transport.close()
    # Cut off mid-answer, and so not sent: the lease that keeps other gateways off this mail would have run out
    # before the relay was done.
    assert hung_up.wait(timeout=10) and result.outcome is Outcome.TEMPORARY and result.connection_error, result
