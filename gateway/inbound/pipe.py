"""`gateway inject`: one message on stdin from an MTA pipe transport, answered with sysexits codes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from gateway.errors import StorageError
from gateway.inbound.accept import Envelope, accept
from gateway.message import parse
from gateway.store import Store

log = logging.getLogger(__name__)
EX_OK, EX_DATAERR, EX_TEMPFAIL = 0, 65, 75


def inject(raw: bytes, *, store: Store, mail_from: str | None = None, rcpt_tos: tuple[str, ...] = ()) -> int:
    """Store one message; the exit code tells the MTA to forget it (0), bounce it (65) or retry (75)."""
    if not raw.strip() or not parse(raw).looks_like_mail:
        log.error("stdin is not a mail message (%d bytes); nothing stored", len(raw))
        return EX_DATAERR
    if mail_from is not None and mail_from.upper() == "MAILER-DAEMON":
        mail_from = ""  # Postfix's pipe writes the null sender of a bounce as ${sender} = MAILER-DAEMON.
    try:
        raw_id = accept(raw, Envelope(mail_from, rcpt_tos, "", "pipe"), store=store, now=datetime.now(UTC))
    except StorageError as exc:
        log.error("storage failed, the MTA will retry: %s", exc)
        return EX_TEMPFAIL
    log.info("raw=%s accepted from stdin (%d bytes)", raw_id, len(raw))
    return EX_OK

