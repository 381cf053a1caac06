"""Stage 3: who sent this mail, and to which of our channels."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.autosubmitted import is_machine_address, machine_verdict
from gateway.config import Settings, listed
from gateway.message import ParsedMessage
from gateway.reply_token import ref_from_message_id

LOOP_HEADER = "X-Gateway-Loop"


class SenderKind(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    OWN = "own"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    BULK = "bulk"
    FEEDBACK = "feedback_report"


@dataclass(frozen=True)
class Sender:
    kind: SenderKind
    address: str
    name: str
    channel: str
    reason: str = ""

    @property
    def is_machine(self) -> bool:
        return self.kind not in (SenderKind.CUSTOMER, SenderKind.AGENT)

    @property
    def is_customer(self) -> bool:
        return self.kind is SenderKind.CUSTOMER


def base_address(address: str) -> str:
    """support+tag@domain -> support@domain, lower-cased."""
    local, _, domain = address.lower().partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def channel_of(msg: ParsedMessage, rcpt_tos: tuple[str, ...], settings: Settings) -> str:
    """The support address this mail was for: the envelope first, then To and Cc."""
    ours = settings.support_addresses
    for address in (*rcpt_tos, *msg.recipients):
        if base_address(address) in ours:
            return base_address(address)
    return settings.mail.addresses[0].lower()


def reply_to_person(msg: ParsedMessage, settings: Settings) -> tuple[str, str] | None:
    """(name, address) of the first Reply-To when it is a person's address, not ours nor a machine's; else None."""
    if not msg.reply_to:
        return None
    address = msg.reply_to[0]
    ours = settings.support_addresses | settings.note_addresses
    if base_address(address) in ours or is_machine_address(address):
        return None
    return msg.reply_to_name, address


def envelope_sender(msg: ParsedMessage, envelope_from: str | None) -> str:
    """Who the mail system says sent it: MAIL FROM (Return-Path for IMAP), else the Return-Path header the
    delivering MTA wrote (a pipe without --from); "" for none or the null sender."""
    if envelope_from is None:
        envelope_from = msg.header("return-path")
    return envelope_from.strip().strip("<>").strip().lower()


def classify(msg: ParsedMessage, envelope_from: str | None, rcpt_tos: tuple[str, ...],
             settings: Settings, secret: str, agents: frozenset[str]) -> Sender:
    """Decide the sender's kind; our own mail coming back is OWN (a loop), never a customer."""
    # A From with no address in it (none at all, or a bare name) leaves the envelope sender as the one to answer.
    address = msg.from_address or envelope_sender(msg, envelope_from)
    channel = channel_of(msg, rcpt_tos, settings)

    def sender(kind: SenderKind, reason: str = "") -> Sender:
        return Sender(kind, address, msg.from_name, channel, reason)

    if base_address(address) in settings.support_addresses:
        return sender(SenderKind.OWN, "sent from our own address")
    if msg.has_header(LOOP_HEADER) or (msg.message_id and ref_from_message_id(secret, msg.message_id)):
        return sender(SenderKind.OWN, "our own mail came back")
    # Machine signals win even over the roster: an agent's out-of-office reply must never be relayed. The
    # allow-list and the contact forms speak for customers only, and only against signals that may be wrong.
    verdict = machine_verdict(msg, envelope_from)
    vouched = verdict is None or not verdict.hard
    # A web contact form's own mail looks automatic (PHPMailer, no-reply senders); the admin vouched for it in
    # [classify] forms, and the visitor it writes for is in Reply-To.
    if vouched and listed(address, settings.classify.forms) and (visitor := reply_to_person(msg, settings)):
        return Sender(SenderKind.CUSTOMER, visitor[1], visitor[0], channel, f"contact form {address}")
    if vouched and listed(address, settings.classify.allow) and address not in agents:
        return sender(SenderKind.CUSTOMER, "allow-listed")
    if verdict is not None:
        return sender(SenderKind(verdict.kind.value), verdict.reason)
    # Only a From makes an agent: DMARC judges the From, and an envelope sender proves nothing to anyone.
    return sender(SenderKind.AGENT if msg.from_address and address in agents else SenderKind.CUSTOMER)
