"""The SMTP listener: answers 250 only after the message is durably stored."""

from __future__ import annotations

import asyncio
import logging
import ssl

from aiosmtpd.smtp import SMTP, Envelope as SmtpEnvelope, Session

from gateway.classify import base_address
from gateway.config import Settings
from gateway.errors import ConfigError, StorageError
from gateway.inbound.accept import Envelope, GroupCommitter

log = logging.getLogger(__name__)


class InboundHandler:
    """aiosmtpd hooks: refuse what is not ours, store what is, then say 250."""

    def __init__(self, settings: Settings, committer: GroupCommitter) -> None:
        self.settings, self.committer = settings, committer

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: SmtpEnvelope, address: str,
                          rcpt_options: list[str]) -> str:
        # Only our support addresses, their plus-tagged forms and agents' note+token@ addresses: never an open relay.
        base = base_address(address)
        if base not in self.settings.support_addresses and not (
                base in self.settings.note_addresses and "+" in address):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: SmtpEnvelope) -> str:
        raw = envelope.original_content or b""
        # aiosmtpd reports the null sender of bounces and auto-replies as "<>"; we store it as "".
        mail_from = "" if envelope.mail_from in (None, "<>") else str(envelope.mail_from)
        incoming = Envelope(mail_from=mail_from, rcpt_tos=tuple(envelope.rcpt_tos),
                            peer=str(session.peer[0]) if session.peer else "", source="smtp")
        try:
            raw_id = await asyncio.wrap_future(self.committer.submit(raw, incoming))
        except StorageError as exc:
            log.error("peer=%s from=%s storage failed, sender will retry: %s", incoming.peer, incoming.mail_from, exc)
            return "451 4.3.0 Temporary local problem, please try again"
        log.info("raw=%s accepted from %s (%d bytes)", raw_id, incoming.mail_from or "<>", len(raw))
        return f"250 2.0.0 Ok: queued as {raw_id}"


class GatewaySMTP(SMTP):
    """aiosmtpd's protocol, with an enhanced status code on its size refusals (RFC 3463)."""

    async def push(self, status: str) -> None:
        if status.startswith("552 Error"):
            status = "552 5.3.4 Message too big for this system"
        await super().push(status)


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The STARTTLS context, loaded once at start so a bad certificate is one line, not dropped sessions."""
    if not (settings.smtp.tls_cert and settings.smtp.tls_key):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.smtp.tls_cert, settings.smtp.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"[smtp] tls_cert/tls_key: cannot load them ({exc})") from None
    return context


def smtp_factory(settings: Settings, committer: GroupCommitter,
                 context: ssl.SSLContext | None = None) -> GatewaySMTP:
    """One aiosmtpd SMTP protocol per connection, with our limits and extensions."""
    return GatewaySMTP(InboundHandler(settings, committer), data_size_limit=settings.smtp.max_message_size,
                enable_SMTPUTF8=True, decode_data=False, ident="support-gateway",
                tls_context=context, require_starttls=False, hostname=None)


async def start_smtp(settings: Settings, committer: GroupCommitter) -> asyncio.Server:
    context = tls_context(settings)
    loop = asyncio.get_running_loop()
    try:
        return await loop.create_server(lambda: smtp_factory(settings, committer, context),
                                        host=settings.smtp.host, port=settings.smtp.port)
    except OSError as exc:
        raise ConfigError(f"[smtp] cannot listen on {settings.smtp.host}:{settings.smtp.port} ({exc.strerror}); "
                          "is another gateway running? Choose another port with [smtp] port") from None
