"""Stages 2 to 6 for one stored message, in one transaction; and the worker that runs them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from gateway.actions import TellAgent
from gateway.agents.auth import AgentClaim, authenticate, dmarc_failure, foreign_envelope
from gateway.agents.gather import gather_agent_mail
from gateway.agents.reply_text import ReplyText, extract_reply
from gateway.agents.roster import AgentView
from gateway.apply import apply, is_partner, request
from gateway.archive.headers import ArchiveHints, read_hints
from gateway.autoreply.facts import gather_facts
from gateway.autoreply.language import detect_language
from gateway.bounces import (BounceFacts, about_our_mail, mark_returned, note_delivery_problems,
                             record_hard_bounces)
from gateway.classify import Sender, SenderKind, base_address, classify, envelope_sender
from gateway.config import Settings
from gateway.decision import Context, ConversationView
from gateway.errors import StorageError
from gateway.imported import (archived_sender, customer_of_ours, is_imported, is_ours, is_outgoing, match_imported,
                              processing_time, record_outgoing, restore_state)
from gateway.merge import survivor
from gateway.message import ParsedMessage, parse
from gateway.models import (Agent, Conversation, Customer, Direction, Message, MessageReference, Note, Participant,
                            RawMessage, RawState, Status)
from gateway.outbound.agent_mail import AGENT_KINDS
from gateway.reply_token import new_ref
from gateway.rules import decide
from gateway.runtime import Runtime
from gateway.store import hold_until_commit, once_per_batch
from gateway.surveys.mail_rating import RATING_KIND, find_survey_reply
from gateway.surveys.schedule import status_changed
from gateway.threading.dedupe import content_hash, find_duplicate, message_key, normalise_id
from gateway.threading.match import Match, Rule, by_ref, match_conversation
from gateway.threading.subject import base_subject, without_refs

log = logging.getLogger(__name__)


class SenderBusy(Exception):
    """Another gateway is processing mail from this sender right now; this message waits for the next pass."""


def load_roster(tx: Session) -> tuple[AgentView, ...]:
    return once_per_batch(tx, "roster", lambda: tuple(
        AgentView(a.id, a.address, a.name, a.tier)  # type: ignore[arg-type]
        for a in tx.exec(select(Agent).where(Agent.active).order_by(col(Agent.id))).all()))


def every_agent(tx: Session) -> frozenset[str]:
    """Every agent's address, active or removed."""
    return once_per_batch(tx, "every agent", lambda: frozenset(tx.exec(select(Agent.address)).all()))


def list_addresses(tx: Session, settings: Settings) -> frozenset[str]:
    """Addresses channels notify that are no agent's, active or removed: mailing lists."""
    named = {a for addresses in settings.channels.notify.values() for a in addresses}
    if not named:
        return frozenset()
    return once_per_batch(tx, "lists", lambda: frozenset(
        named - set(tx.exec(select(Agent.address).where(col(Agent.address).in_(named))).all())))


def _new_customer(tx: Session, sender: Sender, now: datetime) -> Customer:
    customer = Customer(address=sender.address[:320], name=sender.name[:200], created_at=now)
    tx.add(customer)
    tx.flush()
    return customer


def _open_conversation(tx: Session, msg: ParsedMessage, customer: Customer, sender: Sender, match: Match,
                       languages: tuple[str, ...], now: datetime, ref: str = "") -> Conversation:
    conversation = Conversation(ref=ref or new_ref(), subject=without_refs(msg.subject),
                                subject_key=base_subject(msg.subject)[:200], customer_id=customer.id,
                                channel=sender.channel, created_at=now, updated_at=now,
                                linked_to_id=match.linked_to.id if match.linked_to else None,
                                language=detect_language(f"{msg.subject}\n{msg.text}", languages))
    tx.add(conversation)
    tx.flush()
    return conversation


def _record(tx: Session, raw: RawMessage, msg: ParsedMessage, sender: Sender, conversation: Conversation | None,
            rule: Rule, digest: str, reused: bool, settings: Settings, agent: AgentView | None = None,
            reply: ReplyText | None = None) -> Message:
    recipients = list(dict.fromkeys((*raw.rcpt_tos, *msg.recipients)))
    defects = [*msg.defects, *(["MessageIdReused"] if reused else [])]
    message = Message(raw_id=raw.id, conversation_id=conversation.id if conversation else None,
                      message_key=message_key(msg, digest, reused), message_id=msg.message_id,
                      # The person, not the contact form that wrote for them (see classify).
                      direction=Direction.IN, kind=sender.kind, sender=sender.address[:320],
                      sender_name=sender.name[:200],
                      recipients=recipients, subject=msg.subject, text=reply.text if reply else msg.text,
                      stripped=reply.stripped if reply else "", sent_at=msg.date,
                      created_at=raw.received_at, matched_by=rule if conversation else None, content_hash=digest,
                      in_reply_to=msg.in_reply_to[0] if msg.in_reply_to else "", references=list(msg.references),
                      defects=defects, attachments=[a.__dict__ for a in msg.attachments],
                      agent_id=agent.id if agent else None)
    tx.add(message)
    tx.flush()
    if conversation is not None and sender.is_customer:
        ours = settings.support_addresses
        people = {sender.address, *(a for a in msg.recipients if base_address(a) not in ours)} - {""}
        known = set(tx.exec(select(Participant.address).where(Participant.conversation_id == conversation.id)))
        tx.add_all(Participant(conversation_id=conversation.id, address=a) for a in people - known)
        refs = {normalise_id(r) for r in (*msg.in_reply_to, *msg.references)}
        tx.add_all(MessageReference(message_pk=message.id, conversation_id=conversation.id, ref=r) for r in refs)
    return message


def _settle(raw: RawMessage, state: RawState, now: datetime) -> None:
    # Both at once, so they reach the database in one UPDATE.
    raw.state, raw.processed_at = state, now


def _quarantine_raw(raw: RawMessage, msg: ParsedMessage, stage: str, reason: str, now: datetime) -> None:
    _settle(raw, RawState.QUARANTINED, now)
    raw.stage, raw.reason = stage, reason[:2000]
    log.warning("mid=%s conv=- raw=%s quarantined at %s: %s", msg.message_id or "-", raw.id, stage, reason)


def _view(tx: Session, conversation: Conversation, is_new: bool, roster: tuple[AgentView, ...],
          rt: Runtime) -> ConversationView:
    customer = tx.get(Customer, conversation.customer_id) if conversation.customer_id else None
    return ConversationView(
        conversation.ref, conversation.status, is_new, channel=conversation.channel, subject=conversation.subject,
        customer_name=customer.name if customer else "", customer_address=customer.address if customer else "",
        partner=is_partner(customer, rt),
        tags=tuple(conversation.tags), priority=conversation.priority,
        assignee=next((a for a in roster if a.id == conversation.assignee_id), None))


def process_in(tx: Session, raw: RawMessage, msg: ParsedMessage, rt: Runtime, now: datetime) -> None:
    """Classify, thread, decide and apply one stored, parsed message; safe to repeat."""
    roster = load_roster(tx)
    agents = frozenset(a.address for a in roster)
    sender = classify(msg, raw.mail_from, tuple(raw.rcpt_tos), rt.settings, rt.secret, agents)
    hints = read_hints(msg.header) if is_imported(raw) else None
    # An archive's headers are only text: they make mail an agent's or ours only when it is from one of us.
    ours = hints is not None and is_ours(tx, sender.address, rt.settings)
    if hints is not None:
        sender = archived_sender(sender, hints, ours)
    digest = content_hash(msg, envelope_sender(msg, raw.mail_from))
    if hints is not None and is_outgoing(sender, hints, ours):
        _process_our_imported_mail(tx, raw, msg, sender, hints, digest, roster, rt, now)
        return
    if sender.kind is SenderKind.OWN:
        _quarantine_raw(raw, msg, "classify", f"loop: {sender.reason}", now)
        return
    if sender.is_customer and not sender.address:
        # Nobody could be answered, and every such mail would share one blank customer and their conversations.
        _quarantine_raw(raw, msg, "classify", "no sender address: neither From nor the envelope names one", now)
        return
    if sender.is_customer and not msg.from_address and sender.address in agents:
        _quarantine_raw(raw, msg, "classify", f"no From address, and the envelope names agent {sender.address}, "
                                              "which proves nothing: an agent's mail must say who wrote it", now)
        return
    # Two gateways threading one person's new mails side by side would each open a conversation for them.
    if not sender.is_machine and not hold_until_commit(tx, f"sender:{sender.address}"):
        raise SenderBusy(sender.address)
    duplicate, reused = find_duplicate(tx, msg, digest)
    if duplicate is not None:
        duplicate.recipients = list(dict.fromkeys((*duplicate.recipients, *raw.rcpt_tos, *msg.recipients)))
        _settle(raw, RawState.DUPLICATE, now)
        log.info("mid=%s raw=%s duplicate of message %s", msg.message_id, raw.id, duplicate.id)
        return
    report = about_our_mail(tx, msg, rt.store.raw_of(raw.raw, raw.spool), tuple(raw.rcpt_tos), rt.secret) if (
        sender.kind is SenderKind.BOUNCE) else None
    if report is not None and record_hard_bounces(tx, report.suppress, now):
        log.info("mid=%s conv=%s raw=%s hard bounce recorded for %s", msg.message_id or "-", report.ref, raw.id,
                 ", ".join(report.suppress))
    if report is not None and (returned := mark_returned(tx, report)) is not None:
        log.info("mid=%s conv=%s raw=%s outbox %s bounced: %s", msg.message_id or "-", report.ref, raw.id,
                 returned.id, returned.last_error)
    lists = list_addresses(tx, rt.settings)
    ours = rt.settings.support_addresses | rt.settings.note_addresses
    addressed = [a for a in (*raw.rcpt_tos, *msg.recipients) if base_address(a) in ours]
    # Imported history proves nothing about agents' tokens (the secret may differ): it is recorded, never obeyed.
    # A removed agent's old reply address is still theirs: mail to it is refused, never taken for a customer's.
    claim = None if sender.is_machine or hints is not None else authenticate(
        sender.address, sender.kind is SenderKind.AGENT, addressed, rt.secret, every_agent(tx), lists)
    if claim is not None and (forged := dmarc_failure(msg.headers, rt.settings.authentication.authserv_id)):
        # With no ref: a forged From must not make us mail the agent it names.
        claim = AgentClaim(refusal=claim.refusal or f"reply from agent {sender.address} refused: {forged}")
    if claim is None and hints is None and addressed and all(
            base_address(a) in rt.settings.note_addresses for a in addressed):
        claim = AgentClaim(refusal=f"sent to a note address without a valid agent token, from {sender.address}")
    if claim is None and hints is None and not sender.is_machine and (answered := _answers_agent_mail(tx, msg)):
        # Mail we sent to agents quotes what only agents may read; an answer to it from anyone else (a removed
        # agent, someone it was forwarded to) is not a customer's mail, whatever address it came to.
        claim = AgentClaim(refusal=f"{sender.address} is not an agent but answered our {answered.replace('_', ' ')} "
                                   "to agents")
    if claim is not None:
        _process_agent_mail(tx, raw, msg, sender, claim, digest, reused, roster, rt, now)
        return
    # Held here for the whole message: the session only keeps weak references, so every later lookup of the
    # customer (match, view, apply) finds this object instead of querying again.
    customer = tx.exec(select(Customer).where(Customer.address == sender.address)).first() \
        if sender.is_customer else None
    match = _place(tx, raw, msg, sender, hints, report, rt, now, customer)
    # Locked before we change it, as the agent path does, and placed again if another gateway or a CLI command
    # changed it while we waited: a reply must reopen a close committed under it, not be lost behind it.
    while match.conversation is not None and _lock(tx, match.conversation):
        log.info("mid=%s conv=%s changed while this mail waited for it: placed again", msg.message_id or "-",
                 match.conversation.ref)
        match = _place(tx, raw, msg, sender, hints, report, rt, now, customer)
    conversation = match.conversation
    is_new = conversation is None and (sender.is_customer if hints is not None else not sender.is_machine)
    if is_new:
        customer = customer or _new_customer(tx, sender, now)
        conversation = _open_conversation(tx, msg, customer, sender, match, rt.settings.autoreply.languages, now,
                                          ref=hints.ref if hints is not None and match.rule is Rule.ARCHIVE else "")
    agent = next((a for a in roster if a.address == sender.address), None) if hints is not None else None
    message = _record(tx, raw, msg, sender, conversation, match.rule, digest, reused, rt.settings, agent)
    _settle(raw, RawState.PROCESSED, now)
    if report is not None and conversation is not None:
        note_delivery_problems(tx, conversation.id, report, rt.settings.autoreply.bounce_window.days, now)  # type: ignore[arg-type]
        log.info("mid=%s conv=%s delivery report: %s", msg.message_id or "-", conversation.ref, "; ".join(
            f"{p.address or '?'} {p.action} {p.status or '-'}" for p in report.problems) or "no recipient named")
    if conversation is None:
        log.info("mid=%s conv=- %s mail kept, no conversation (%s)", msg.message_id, sender.kind, sender.reason)
        return
    survey_reply = None
    if hints is not None:
        restore_state(tx, conversation, hints, is_new, roster, now)
    else:
        survey_reply = find_survey_reply(tx, msg, conversation, customer.id if customer else None, now) if (
            sender.is_customer and not is_new) else None
        # A rating in reply to our survey is an answer, not a request: the conversation stays resolved, and the
        # mail is no customer mail that waits for a reply or counts in the report's mail in.
        if survey_reply is not None:
            message.kind = RATING_KIND
        elif match.reopen or (sender.is_customer and conversation.status == Status.PENDING):
            _reopen(tx, conversation, sender, rt, now)
        conversation.updated_at = now
    facts = None
    # Only a new conversation is acknowledged: a reply to a resolved one within the reopen window ("thanks, that
    # fixed it") must not get "we have your message" again; after the window it opens a new, linked one.
    if sender.is_customer and is_new and hints is None and customer is not None:
        facts = gather_facts(tx, customer, now)
    ctx = Context(msg, sender, _view(tx, conversation, is_new, roster, rt), rt.settings, now, roster=roster,
                  lists=lists, auto_reply=facts, survey_reply=survey_reply, imported=hints is not None)
    apply(tx, conversation, message, decide(ctx), rt, roster, now)
    log.info("mid=%s conv=%s %s from %s placed by %s", msg.message_id or "-", conversation.ref,
             sender.kind, sender.address, match.rule)


def _place(tx: Session, raw: RawMessage, msg: ParsedMessage, sender: Sender, hints: ArchiveHints | None,
           report: BounceFacts | None, rt: Runtime, now: datetime, customer: Customer | None) -> Match:
    """Which conversation a customer's (or machine's, or imported) mail joins."""
    rcpt_tos = tuple(raw.rcpt_tos)
    match = (match_conversation(tx, msg, sender, rcpt_tos, rt.settings, rt.secret, now, customer) if hints is None
             else match_imported(tx, msg, sender, hints, rcpt_tos, rt.settings, rt.secret, now, customer))
    if report is not None and (reported := by_ref(tx, report.ref)) is not None:
        # A report about our mail belongs with that mail; being machine mail, it reopens and answers nothing.
        match = Match(Rule.DELIVERY_REPORT, reported)
    return match


def _lock(tx: Session, conversation: Conversation) -> bool:
    """Lock the conversation's row until commit (SELECT … FOR UPDATE, a no-op on SQLite's single writer) and read
    it again; True when another writer changed what placing mail in it depends on since we read it."""
    def placing(c: Conversation) -> tuple[object, ...]:
        return c.status, c.resolved_at, c.updated_at, c.merged_into_id

    seen = placing(conversation)
    tx.exec(select(Conversation).where(Conversation.id == conversation.id).with_for_update()
            .execution_options(populate_existing=True)).one()
    return placing(conversation) != seen


def _reopen(tx: Session, conversation: Conversation, sender: Sender, rt: Runtime, now: datetime) -> None:
    """The customer answered: it needs a person again."""
    if conversation.status == Status.RESOLVED:
        # Kept as an event: `gateway report` counts how often a resolution did not hold.
        tx.add(Note(conversation_id=conversation.id, created_at=now, kind="reopened", author=sender.address,
                    body="Reopened by the customer's reply."))
    previous = conversation.status
    conversation.status, conversation.resolved_at = Status.OPEN, None
    status_changed(tx, conversation, previous, rt.settings, now, rt.autoreply.hours)


def _process_our_imported_mail(tx: Session, raw: RawMessage, msg: ParsedMessage, sender: Sender,
                               hints: ArchiveHints, digest: str, roster: tuple[AgentView, ...], rt: Runtime,
                               now: datetime) -> None:
    """Mail we sent, found in imported history: kept as sent mail in its conversation, never a loop."""
    raw.processed_at = now
    if (recipient := customer_of_ours(tx, msg, sender, hints, rt.settings)) is not None:
        customer = tx.exec(select(Customer).where(Customer.address == recipient.address)).first() \
            or _new_customer(tx, recipient, now)
        opened = _open_conversation(tx, msg, customer, recipient, Match(Rule.ARCHIVE),
                                    rt.settings.autoreply.languages, now, ref=hints.ref)
        tx.add(Participant(conversation_id=opened.id, address=recipient.address))
    agent = next((a for a in roster if a.address == hints.agent), None)
    conversation = record_outgoing(tx, raw, msg, hints, digest, agent.id if agent else None, now)
    if conversation is not None:
        restore_state(tx, conversation, hints, False, roster, now)
    log.info("mid=%s conv=%s imported mail of ours", msg.message_id or "-", conversation.ref if conversation else "-")


def _answers_agent_mail(tx: Session, msg: ParsedMessage) -> str:
    """The kind of mail to agents this one answers directly (In-Reply-To), or ""."""
    keys = [normalise_id(i) for i in msg.in_reply_to]
    return tx.exec(select(Message.kind).where(
        col(Message.message_key).in_(keys), Message.direction == Direction.OUT,
        col(Message.kind).in_(AGENT_KINDS)).limit(1)).first() or "" if keys else ""


def _told_lately(tx: Session, agent: AgentView, conversation: Conversation, rt: Runtime, now: datetime) -> bool:
    since = now - rt.settings.agents.error_reply_interval
    return tx.exec(select(Message.id).where(
        Message.conversation_id == conversation.id, Message.agent_id == agent.id, Message.direction == Direction.OUT,
        Message.kind == "not_relayed", Message.created_at >= since).limit(1)).first() is not None


def _process_agent_mail(tx: Session, raw: RawMessage, msg: ParsedMessage, sender: Sender, claim: AgentClaim,
                        digest: str, reused: bool, roster: tuple[AgentView, ...], rt: Runtime,
                        now: datetime) -> None:
    """An agent's mail: refused ones are quarantined (never answered by mail); proven ones go to the rules."""
    if claim.refusal:
        _quarantine_raw(raw, msg, "authenticate", claim.refusal, now)
        agent = next((a for a in roster if a.address == sender.address), None)
        refused_in = by_ref(tx, claim.ref) if agent is not None else None
        # An agent's answer that went to the wrong address must not vanish without a word: they are told, at their
        # own address, at most once per interval (whoever forges their From cannot make us mail them at will).
        if agent is not None and refused_in is not None and not _told_lately(tx, agent, refused_in, rt, now):
            told = TellAgent(agent, "not_relayed", (f"{claim.refusal}; nothing was sent, and the mail is in "
                                                    "quarantine. Answer again from your notification's Reply-To.",))
            apply(tx, refused_in, request("agent", agent.address, now), [told], rt, roster, now)
        return
    named = tx.exec(select(Conversation).where(Conversation.ref == claim.ref)).first()
    # Locked, so two agents' replies processed at once by two gateways see each other: one is held, and reads
    # the row again once it has it (the object in the session is as it was before the wait).
    conversation = tx.exec(select(Conversation).where(Conversation.id == survivor(tx, named).id).with_for_update()
                           .execution_options(populate_existing=True)).first() if named is not None else None
    if conversation is None:
        _quarantine_raw(raw, msg, "authenticate", f"reply token names conversation {claim.ref}, which does not exist",
                        now)
        return
    agent = next(a for a in roster if a.address == claim.agent)
    reply = extract_reply(msg.text, msg.html)
    message = _record(tx, raw, msg, sender, conversation, Rule.TOKEN, digest, reused, rt.settings, agent, reply)
    _settle(raw, RawState.PROCESSED, now)
    conversation.updated_at = now
    # Where our MTA checks DMARC, its verdict has already spoken; else a sender of another domain is worth a word.
    envelope = "" if rt.settings.authentication.authserv_id else foreign_envelope(
        agent.address, envelope_sender(msg, raw.mail_from))
    mail = gather_agent_mail(tx, conversation, message, msg, agent, reply, claim.note, roster,
                             rt.store.raw_of(raw.raw, raw.spool), envelope)
    ctx = Context(msg, sender, _view(tx, conversation, False, roster, rt), rt.settings, now, roster=roster,
                  agent_mail=mail, saved_replies=rt.saved_replies)
    apply(tx, conversation, message, decide(ctx), rt, roster, now)
    log.info("mid=%s conv=%s agent mail from %s (cut by %s)", msg.message_id or "-", conversation.ref,
             agent.address, reply.cut_by)


class Processor:
    """The worker that takes RECEIVED raw messages in order; a bad one is quarantined, never retried forever."""

    # How long one write transaction may hold the store while another writer waits for it: on SQLite, SMTP's
    # commit waits behind it. In bench/ingest.py 15 ms gave 45-49% of the bare sink's intake and 5 ms 69-75%.
    # Nobody waiting, the whole batch goes in one transaction: a commit per message cost 9-15% of processing.
    HOLD = 0.005

    def __init__(self, rt: Runtime, batch: int = 20, on_processed: Callable[[], None] | None = None) -> None:
        self.rt, self.batch, self.on_processed = rt, batch, on_processed
        self._conflicts: dict[int, int] = {}

    def run_once(self) -> int:
        """Process up to `batch` stored messages, each in its own savepoint, committing after HOLD seconds when another
        writer waits; return how many were settled (0 when all of them wait for another process, so the worker
        waits too)."""
        with self.rt.store.reading() as tx:
            rows = list(tx.exec(select(RawMessage.id, RawMessage.raw, RawMessage.spool)
                                .where(RawMessage.state == RawState.RECEIVED)
                                .order_by(col(RawMessage.id)).limit(self.batch)).all())
        # Parsing is the costly pure part: do it before taking the write lock.
        parsed = [(raw_id, self._parse(raw, spool)) for raw_id, raw, spool in rows]
        batch_info: dict[str, object] = {}  # What once_per_batch() read, kept across this batch's transactions.
        settled = 0
        while parsed:
            with self.rt.store.transaction(durable=False) as tx:
                tx.info.update(batch_info)
                started = time.monotonic()
                while True:
                    raw_id, msg = parsed.pop(0)
                    settled += self._process_one(tx, raw_id, msg)  # type: ignore[arg-type]
                    if not parsed or (time.monotonic() - started >= self.HOLD and self.rt.store.anyone_waiting()):
                        break
                batch_info = dict(tx.info)
            if parsed:
                self.rt.store.give_way()  # A waiting SMTP commit takes the store before our next transaction.
        if settled and self.on_processed is not None:
            self.on_processed()
        return settled

    def process(self, *raw_ids: int) -> None:
        """Process these stored messages, if they still wait, in one transaction (each in its own savepoint)."""
        with self.rt.store.reading() as tx:
            raws = {raw_id: (raw, spool) for raw_id, raw, spool in tx.exec(
                select(RawMessage.id, RawMessage.raw, RawMessage.spool).where(col(RawMessage.id).in_(raw_ids))).all()}
        parsed = [(raw_id, self._parse(*raws.get(raw_id, (b"", "")))) for raw_id in raw_ids]
        with self.rt.store.transaction() as tx:
            for raw_id, msg in parsed:
                self._process_one(tx, raw_id, msg)

    def _parse(self, raw: bytes, spool: str) -> ParsedMessage | Exception:
        try:
            return parse(self.rt.store.raw_of(raw, spool))
        except Exception as exc:  # A missing raw file, or a bug in parse(): quarantine it, do not stop the queue.
            return exc

    def _process_one(self, tx: Session, raw_id: int, msg: ParsedMessage | Exception) -> bool:
        """Process one stored message; True when it was settled (processed, a duplicate or quarantined), False
        when it was left waiting (or another process had it)."""
        try:
            with tx.begin_nested():
                # The bytes were read and parsed already; bounces and agents' mail load them again if needed.
                raw = tx.exec(select(RawMessage).options(defer(RawMessage.raw)).where(RawMessage.id == raw_id)
                              .with_for_update(skip_locked=True)).first()
                if raw is None or raw.state != RawState.RECEIVED:
                    return False
                if isinstance(msg, Exception):
                    raise msg
                process_in(tx, raw, msg, self.rt, processing_time(raw, self.rt.clock))
            self._conflicts.pop(raw_id, None)
            return True
        except SenderBusy as busy:
            log.debug("raw=%s waits: another gateway has mail from %s in hand", raw_id, busy)
            return False
        except IntegrityError:
            # Another process stored the same message or customer at the same instant: leave it RECEIVED;
            # next time de-duplication or the lookup finds what the other one stored.
            self._conflicts[raw_id] = tries = self._conflicts.get(raw_id, 0) + 1
            log.info("raw=%s lost a race (try %d), will process again", raw_id, tries)
            if tries >= 3:
                self._quarantine(tx, raw_id, "kept conflicting with concurrent writers")
            return tries >= 3
        except (StorageError, OperationalError):
            raise  # The database is unwell, not the message: leave it RECEIVED for the next pass.
        except Exception as exc:  # One bad message must never stop the queue.
            log.exception("raw=%s quarantined at processing", raw_id)
            self._quarantine(tx, raw_id, repr(exc))
            return True

    @staticmethod
    def _quarantine(tx: Session, raw_id: int, reason: str) -> None:
        with tx.begin_nested():
            raw = tx.get(RawMessage, raw_id)
            if raw is not None:
                raw.state, raw.stage, raw.reason = RawState.QUARANTINED, "process", reason[:2000]
