"""Bounces about mail we sent: tied to its conversation as notes, and hard bounces remembered on the customer."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from gateway.delivery_report import Problem, read_report, returned_message_ids
from gateway.message import ParsedMessage
from gateway.models import Conversation, Customer, Note, OutboxItem, OutboxStatus
from gateway.reply_token import ref_from_bounce_address, ref_from_message_id

# An SMTP reply's enhanced status code (RFC 3463) where the relay names the recipient's address or mailbox:
# X.1.x (other than X.1.7/X.1.8, the sender's) and X.2.1 (mailbox disabled).
# 5.1.1-5.1.6, 5.1.10 (null MX) and 5.2.1 name the recipient; 5.1.0 ("other address status"), 5.1.7 and 5.1.8 are as often
# about our sender, and one refusal of us must not mark every customer we write to.
_RECIPIENT_REFUSAL = re.compile(r"\b5\.(1\.([1-6]|10)|2\.1)\b")


def refused_recipients(rcpt_tos: Iterable[str], detail: str) -> tuple[str, ...]:
    """The recipients a relay's permanent refusal names (by its enhanced status code, and by address when there
    are several), lower-cased; () for a refusal of our sender or the mail (spam, size)."""
    if not _RECIPIENT_REFUSAL.search(detail):
        return ()
    recipients = [r.lower() for r in rcpt_tos]
    if len(recipients) == 1:
        return tuple(recipients)
    return tuple(r for r in recipients if re.search(rf"(?<![\w.+-]){re.escape(r)}(?![\w.-])", detail.lower()))


@dataclass(frozen=True)
class BounceFacts:
    """A delivery report about mail we sent: its conversation, our Message-ID it names, what went wrong, and
    which addresses hard-bounced."""

    ref: str
    original_id: str
    problems: tuple[Problem, ...]
    suppress: tuple[str, ...]


def _sent_to(tx: Session, original_id: str, ref: str) -> tuple[str, ...]:
    """Who the reported mail went to: its outbox row, else (VERP alone) the conversation's customer."""
    if original_id:
        row = tx.exec(select(OutboxItem.rcpt_tos).where(OutboxItem.message_id == original_id)).first()
        if row:
            return tuple(a.lower() for a in row)
    conversation = tx.exec(select(Conversation).where(Conversation.ref == ref)).first()
    customer = tx.get(Customer, conversation.customer_id) if conversation and conversation.customer_id else None
    return (customer.address,) if customer else ()


def about_our_mail(tx: Session, msg: ParsedMessage, raw: bytes, rcpt_tos: tuple[str, ...],
                   secret: str) -> BounceFacts | None:
    """What a bounce says about mail we sent, trusting only one to our VERP address or naming our signed
    Message-ID (anyone can write a report naming a customer; it must not silence them for weeks)."""
    verp = next((ref for a in (*rcpt_tos, *msg.recipients) if (ref := ref_from_bounce_address(secret, a))), None)
    ours = [(mid, ref) for mid in returned_message_ids(msg, raw) if (ref := ref_from_message_id(secret, mid))]
    if verp is None and not ours:
        return None
    original_id, ref = ours[0] if ours else ("", verp)
    ref = verp or ref
    sent_to = _sent_to(tx, original_id, ref)  # type: ignore[arg-type]
    report = read_report(msg, raw)
    problems = []
    for problem in report.problems:
        address = problem.address
        # Trust only the addresses we sent to: a bounce's text may name anyone, and so may a DSN anyone wrote about
        # our Message-ID; one we sent to stands for a report that names nobody, or an alias's target.
        if sent_to and address not in sent_to:
            address = ""
        if not address and len(sent_to) == 1:
            address = sent_to[0]
        if address or report.standard:
            problems.append(dataclasses.replace(problem, address=address))
    if not problems and len(sent_to) == 1:
        problems = [dataclasses.replace(report.problems[0], address=sent_to[0])]
    suppress = tuple(dict.fromkeys(p.address for p in problems if p.permanent and p.address))
    return BounceFacts(ref, original_id, tuple(dict.fromkeys(problems)), suppress)  # type: ignore[arg-type]


def note_delivery_problems(tx: Session, conversation_id: int, facts: BounceFacts, window_days: int,
                           now: datetime) -> None:
    """One note per recipient on the conversation: what failed or is delayed, with its status and reason."""
    mail = facts.original_id or "our mail"
    for problem in facts.problems:
        who = problem.address or "an unnamed recipient"
        status = problem.status or "no status code"
        why = f" ({problem.diagnostic})" if problem.diagnostic else ""
        if problem.action == "delayed":
            kind, body = "delivery_delayed", f"{mail} to {who} is delayed, {status}{why}; the sending server " \
                                              "keeps trying."
        elif problem.permanent:
            kind, body = "delivery_failed", f"{mail} to {who} was not delivered, {status}{why}: a permanent " \
                                             f"failure; no automatic mail goes to {who} for {window_days} days."
        else:
            kind, body = "delivery_failed", f"{mail} to {who} was not delivered, {status}{why}."
        tx.add(Note(conversation_id=conversation_id, created_at=now, kind=kind, body=body))


def mark_returned(tx: Session, facts: BounceFacts) -> OutboxItem | None:
    """Mark the sent mail a report says was not delivered as bounced, so `show`, `queue` and the report stop
    calling it delivered; None when the report names none of our sent mail or only a delay."""
    failed = [p for p in facts.problems if p.action == "failed"]
    if not facts.original_id or not failed:
        return None
    item = tx.exec(select(OutboxItem).where(OutboxItem.message_id == facts.original_id,
                                            OutboxItem.status == OutboxStatus.SENT)).first()
    if item is None:
        return None
    item.status = OutboxStatus.BOUNCED
    item.last_error = "; ".join(" ".join(filter(None, (p.address, p.status, p.diagnostic and f"({p.diagnostic})")))
                                for p in failed)
    tx.add(item)
    return item


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
