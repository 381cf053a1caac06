"""Open an IMAP session for one configured mailbox, turning every failure into one line with its fix."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from gateway.config import MailboxSettings


class ImapFault(Exception):
    """A mailbox cannot be read right now; `fix` says what an admin can do about it."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem, self.fix = problem, fix


def password_of(box: MailboxSettings) -> str:
    if not box.password_file:
        return box.password
    try:
        return Path(box.password_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ImapFault(f"cannot read password_file {box.password_file} ({exc.strerror})",
                        "make the file readable by the gateway's user, or set password") from None


def _tls_context(box: MailboxSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=box.ca_file or None)


def connect(box: MailboxSettings, timeout: float) -> IMAPClient:
    """A logged-in session (TLS as configured); raises ImapFault."""
    where = f"{box.host}:{box.server_port}"
    try:
        client = IMAPClient(box.host, box.server_port, ssl=box.security == "tls",
                            ssl_context=_tls_context(box) if box.security == "tls" else None, timeout=timeout)
    except ssl.SSLError as exc:
        raise ImapFault(f"TLS with {where} failed ({exc.reason or exc})",
                        "check security (\"tls\" is port 993, \"starttls\" port 143) and ca_file") from None
    except (OSError, IMAPClientError) as exc:
        raise ImapFault(f"cannot connect to {where} ({_reason(exc)})",
                        "check host and port, and that the server is up and reachable from here") from None
    try:
        if box.security == "starttls":
            client.starttls(_tls_context(box))
        client.login(box.user, password_of(box))
    except LoginError as exc:
        _close(client)
        raise ImapFault(f"{where} refused the login of {box.user} ({_reason(exc)})",
                        "check user and password (or password_file)") from None
    except ssl.SSLError as exc:
        _close(client)
        raise ImapFault(f"STARTTLS with {where} failed ({exc.reason or exc})",
                        "check ca_file, or use security = \"tls\" if the server only offers IMAPS") from None
    except (OSError, IMAPClientError) as exc:
        _close(client)
        raise ImapFault(f"{where} dropped the session while logging in ({_reason(exc)})",
                        "check security; the server may need \"starttls\" before it accepts a login") from None
    except ImapFault:
        _close(client)
        raise
    return client


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return text.strip() or type(exc).__name__


def _close(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except (OSError, IMAPClientError):
        pass


def disconnect(client: IMAPClient) -> None:
    """Log out politely, or just close the socket when the server is gone."""
    try:
        client.logout()
    except Exception:  # Whatever state the session died in, it is over.
        _close(client)
