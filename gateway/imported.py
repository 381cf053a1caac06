"""Mail brought in by `gateway import`: threaded by the same code as live mail, but history sends nothing.

The pipeline knows such mail by its raw row's source, "import". For it:
- the time is the mail's own (so windows, reports and the order of events are as they were),
- the first rule, `stop_imported_mail`, stops every action: no acknowledgement, no notification, no survey,
- the archive headers of our own export (gateway.archive.headers) put each message back in its conversation,
- our own replies in the history are recorded as sent mail, not refused as a loop,
- a conversation the history opens is resolved unless the archive says otherwise: history is not a queue.
Those headers are only text in a file anyone may have written to (a shared mailbox, say): mail counts as an agent's
or as ours only when it is from a support address or an agent, and they set the state only of conversations that
hold nothing but imported mail, never of a live one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session, col, or_, select

from gateway.agents.roster import AgentView
from gateway.archive.headers import ArchiveHints
from gateway.classify import Sender, SenderKind, base_address
from gateway.config import Settings
from gateway.decision import Context, Decision
from gateway.message import ParsedMessage
from gateway.models import Agent, Conversation, Customer, Direction, Message, RawMessage, RawState, Status
from gateway.threading.dedupe import normalise_id
from gateway.threading.match import Match, Rule, by_ref, by_references, is_participant, match_conversation

IMPORT_SOURCE = "import"
# Our mail that goes to the customer (the rest goes to agents and admins).
CUSTOMER_FACING = ("agent_reply", "acknowledgement")


def is_imported(raw: RawMessage) -> bool:
    return raw.source == IMPORT_SOURCE


def processing_time(raw: RawMessage, clock: Callable[[], datetime]) -> datetime:
    """The moment a message is processed as: its own time for imported history, now for live mail."""
    return raw.received_at if is_imported(raw) else clock()


def stop_imported_mail(ctx: Context) -> Decision:
    """History is recorded, never answered: nothing is sent or scheduled because of imported mail."""
    return Decision(final=True) if ctx.imported else Decision()


def is_ours(tx: Session, address: str, settings: Settings) -> bool:
    """Whether imported mail from this address may be ours or an agent's: a support address, or an agent's (one
    removed since, too: their rows stay)."""
    return base_address(address) in settings.support_addresses or tx.exec(
        select(Agent.id).where(Agent.address == address.lower())).first() is not None


def archived_sender(sender: Sender, hints: ArchiveHints, ours: bool) -> Sender:
    """Who wrote it, as the archive recorded (an agent no longer on the roster is still an agent); an agent only
    when the mail is from one (`ours`), else it stays what its headers show, a customer."""
    if hints.direction == "in" and hints.kind in set(SenderKind) and hints.kind != SenderKind.OWN and (
            ours or hints.kind != SenderKind.AGENT):
        return dataclasses.replace(sender, kind=SenderKind(hints.kind), reason="as archived")
    return sender


def is_outgoing(sender: Sender, hints: ArchiveHints, ours: bool) -> bool:
    """Our own mail in the history: from a support address or an agent (`ours`), and sent from a support address
    or what the archive calls "out"."""
    return ours and (hints.direction == "out" or (not hints.direction and sender.kind is SenderKind.OWN))


def history_only(tx: Session, conversation: Conversation) -> bool:
    """Whether all of the conversation's mail came from imports: only such a conversation takes its state from
    an archive; a live one that imported mail joined keeps its own."""
    live = tx.exec(select(Message.id).outerjoin(RawMessage, col(Message.raw_id) == RawMessage.id).where(
        Message.conversation_id == conversation.id,
        or_(col(Message.raw_id).is_(None), RawMessage.source != IMPORT_SOURCE)).limit(1)).first()
    return live is None


def match_imported(tx: Session, msg: ParsedMessage, sender: Sender, hints: ArchiveHints, rcpt_tos: tuple[str, ...],
                   settings: Settings, secret: str, now: datetime, customer: Customer | None) -> Match:
    """The archived conversation when it is this sender's (or free to open), else the live rules; never a reopen.
    Machine mail (a bounce about our reply) goes where the archive put it: it shows to nobody but agents, and
    under another install's secret nothing else could tie it to its conversation."""
    named = by_ref(tx, hints.ref)
    if named is not None and (sender.is_machine or is_participant(tx, named, sender)):
        return Match(Rule.ARCHIVE, named)
    if hints.ref and named is None and sender.is_customer:
        return Match(Rule.ARCHIVE)
    return dataclasses.replace(match_conversation(tx, msg, sender, rcpt_tos, settings, secret, now, customer),
                               reopen=False)


def restore_state(tx: Session, conversation: Conversation, hints: ArchiveHints, opened: bool,
                  roster: tuple[AgentView, ...], now: datetime) -> None:
    """The state the archive recorded; a conversation the history opened without one is resolved. A live
    conversation is left as it is."""
    if not opened and not history_only(tx, conversation):
        return
    status = hints.status or (Status.RESOLVED if opened else "")
    if status and status != conversation.status:
        conversation.status = status
        conversation.resolved_at = now if status == Status.RESOLVED else None
    if hints.priority:
        conversation.priority = hints.priority
    if hints.tags is not None:
        conversation.tags = list(hints.tags)
    assignee = next((a for a in roster if a.address == hints.assignee), None)
    if assignee is not None:
        conversation.assignee_id = assignee.id
    conversation.updated_at = max(conversation.updated_at, now)


def customer_of_ours(tx: Session, msg: ParsedMessage, sender: Sender, hints: ArchiveHints,
                     settings: Settings) -> Sender | None:
    """The customer our archived mail went to, when its conversation (one split off at our own reply) holds none
    of their mail to open it with; else None."""
    if not (hints.ref and msg.to and hints.kind in CUSTOMER_FACING) or by_ref(tx, hints.ref) is not None:
        return None
    ours = base_address(msg.from_address)
    channel = ours if ours in settings.support_addresses else sender.channel
    return Sender(SenderKind.CUSTOMER, msg.to[0], "", channel, "as archived")


def record_outgoing(tx: Session, raw: RawMessage, msg: ParsedMessage, hints: ArchiveHints, digest: str,
                    agent_id: int | None, now: datetime) -> Conversation | None:
    """Our own mail from the history, kept as sent mail in the conversation it answered (if one is found)."""
    key = normalise_id(msg.message_id) if msg.message_id else f"hash:{digest}"
    if tx.exec(select(Message.id).where(Message.message_key == key)).first() is not None:
        raw.state = RawState.DUPLICATE
        return None
    conversation = by_ref(tx, hints.ref) or by_references(tx, msg)
    automatic = msg.header("auto-submitted", "no").lower() != "no"
    kind = hints.kind or ("auto_reply" if automatic else "agent_reply")
    tx.add(Message(raw_id=raw.id, conversation_id=conversation.id if conversation else None, message_key=key,
                   message_id=msg.message_id, direction=Direction.OUT, kind=kind, sender=msg.from_address[:320],
                   sender_name=msg.from_name[:200], recipients=list(msg.recipients), subject=msg.subject,
                   text=msg.text, sent_at=msg.date, created_at=now, content_hash=digest, agent_id=agent_id,
                   in_reply_to=msg.in_reply_to[0] if msg.in_reply_to else "", references=list(msg.references),
                   attachments=[a.__dict__ for a in msg.attachments]))
    raw.state = RawState.PROCESSED
    if conversation is None:
        return None
    if kind == "agent_reply" and (conversation.first_response_at is None or conversation.first_response_at > now) \
            and history_only(tx, conversation):
        conversation.first_response_at = now
    return conversation
