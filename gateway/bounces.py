"""Hard bounces: the recipients a delivery report or the relay refused for good, remembered on the customer."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from email.message import Message as MimePart

from sqlmodel import Session, col, select

from gateway.message import ParsedMessage
from gateway.models import Conversation, Customer
from gateway.reply_token import ref_from_bounce_address, ref_from_message_id

# RFC 3463 "5.x.x": permanent. A 4.x.x "failed" is a retry that ran out of time, not a dead address.
_PERMANENT = re.compile(r"5\.\d{1,3}\.\d{1,3}")
# One bare addr-spec; Exim writes pipes ("|/usr/bin/x a@b") and files as recipients, never ours to mark.
_ADDRESS = re.compile(r"(?![|/])[^\s@<>,;]+@[^\s@<>,;]+")
# An SMTP reply's enhanced status code (RFC 3463) where the relay names the recipient's address or mailbox:
# X.1.x (other than X.1.7/X.1.8, the sender's) and X.2.1 (mailbox disabled).
# 5.1.1-5.1.6, 5.1.10 (null MX) and 5.2.1 name the recipient; 5.1.0 ("other address status"), 5.1.7 and 5.1.8 are as often
# about our sender, and one refusal of us must not mark every customer we write to.
_RECIPIENT_REFUSAL = re.compile(r"\b5\.(1\.([1-6]|10)|2\.1)\b")


def hard_bounced_recipients(msg: ParsedMessage, raw: bytes) -> tuple[str, ...]:
    """The lower-cased addresses an RFC 3464 report says failed permanently; () for anything else."""
    # Only a report at the top: a customer forwarding a bounce to us must not mark anyone.
    if msg.content_type != "multipart/report":
        return ()
    report = email.message_from_bytes(raw, policy=email.policy.default)
    if str(report.get_param("report-type", "")).lower() != "delivery-status":
        return ()
    found: dict[str, None] = {}
    for fields in _recipient_fields(report):
        action = str(fields.get("action", "")).lower().split()
        status = str(fields.get("status", "")).split()
        if action[:1] == ["failed"] and status and _PERMANENT.fullmatch(status[0]):
            if (address := _recipient(fields)) is not None:
                found.setdefault(address)
    return tuple(found)


def _recipient_fields(report: MimePart) -> Iterator[MimePart]:
    """Each per-recipient block of each message/delivery-status part directly inside the report."""
    if not report.is_multipart():
        return
    for part in report.get_payload():
        if isinstance(part, MimePart) and part.get_content_type() == "message/delivery-status":
            # The stdlib parses the part into one header block per paragraph; the first is per-message.
            blocks = part.get_payload()
            if isinstance(blocks, list):
                yield from (b for b in blocks if isinstance(b, MimePart) and "action" in b)


def _recipient(fields: MimePart) -> str | None:
    """The address we sent to: Original-Recipient when given (Final-Recipient may be an alias's target)."""
    for name in ("original-recipient", "final-recipient"):
        kind, _, value = str(fields.get(name, "")).partition(";")
        address = value.strip().strip("<>").lower()
        if kind.strip().lower() == "rfc822" and _ADDRESS.fullmatch(address):
            return address
    return None


def refused_recipients(rcpt_tos: Iterable[str], detail: str) -> tuple[str, ...]:
    """The recipients a relay's permanent refusal names (by its enhanced status code, and by address when there
    are several), lower-cased; () for a refusal of our sender or the mail (spam, size)."""
    if not _RECIPIENT_REFUSAL.search(detail):
        return ()
    recipients = [r.lower() for r in rcpt_tos]
    if len(recipients) == 1:
        return tuple(recipients)
    return tuple(r for r in recipients if re.search(rf"(?<![\w.+-]){re.escape(r)}(?![\w.-])", detail.lower()))


# A Message-ID anywhere in the report (the returned headers): ours are signed, so a forged report cannot name one.
_ANGLED_ID = re.compile(rb"<[^<>\s@]{1,200}@[^<>\s]{1,200}>")
# A permanent failure in a plain-text bounce: an SMTP 5xx reply or a 5.x.x status.
_PERMANENT_TEXT = re.compile(r"\b5\d\d\b|\b5\.\d{1,3}\.\d{1,3}\b")


def bounced_addresses(tx: Session, msg: ParsedMessage, raw: bytes, rcpt_tos: tuple[str, ...],
                      secret: str) -> tuple[str, ...]:
    """Who hard-bounced, trusting only a report about mail we sent: to our VERP address, or naming our Message-ID."""
    verp = next((ref for address in rcpt_tos if (ref := ref_from_bounce_address(secret, address))), None)
    if verp is None and not any(ref_from_message_id(secret, found.decode("latin-1"))
                                for found in _ANGLED_ID.findall(raw)):
        return ()  # Anyone can write a report naming a customer; it must not silence them for weeks.
    failed = hard_bounced_recipients(msg, raw)
    if failed or verp is None or msg.content_type == "multipart/report" or not _PERMANENT_TEXT.search(msg.text):
        return failed
    # A plain-text bounce (qmail and friends) to a VERP address: the address names the conversation that bounced.
    conversation = tx.exec(select(Conversation).where(Conversation.ref == verp)).first()
    customer = tx.get(Customer, conversation.customer_id) if conversation and conversation.customer_id else None
    return (customer.address,) if customer else ()


def record_hard_bounces(tx: Session, addresses: Iterable[str], now: datetime) -> int:
    """Set `bounced_at` on the customers with these addresses; return how many rows changed."""
    wanted = {a.strip().lower() for a in addresses if a.strip()}
    if not wanted:
        return 0
    changed = 0
    for customer in tx.exec(select(Customer).where(col(Customer.address).in_(wanted))).all():
        # Mail processed out of order must not move the date backwards and shorten the quiet period.
        if customer.bounced_at is None or customer.bounced_at < now:
            customer.bounced_at = now
            tx.add(customer)
            changed += 1
    return changed
