"""Stage 6: turn the decided actions into notes, state changes and outbox rows, in the caller's transaction."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from gateway.actions import (Action, AddNote, CloseHeld, FlagSender, HoldReply, NotifyAgents, RecordRating,
                             RelayReply, SendAcknowledgement, SendSurvey, SkipAcknowledgement, SkipSurvey, TellAdmins,
                             TellAgent, TellColleagues, UpdateConversation)
from gateway.agents.roster import AgentView
from gateway.errors import StorageError
from gateway.models import Conversation, Customer, Direction, Message, Note, Scheduled, Status, TemplateUse
from gateway.outbound.acknowledgement import queue_acknowledgement
from gateway.outbound.admin_notice import queue_admin_notice
from gateway.outbound.agent_mail import agent_subject, queue_agent_mail, queue_notifications
from gateway.outbound.relay import queue_relay
from gateway.outbound.survey import queue_survey
from gateway.runtime import Runtime
from gateway.surveys.answers import record_rating
from gateway.surveys.schedule import status_changed

log = logging.getLogger(__name__)


def is_partner(customer: Customer | None, rt: Runtime) -> bool:
    return customer is not None and (customer.partner or rt.settings.is_partner(customer.address))


def _update(conversation: Conversation, action: UpdateConversation, now: datetime) -> str:
    """Apply the changes; say what changed, for the conversation's history."""
    before = (conversation.status, conversation.assignee_id, list(conversation.tags), conversation.priority)
    if action.status is not None and action.status != conversation.status:
        conversation.status = action.status
        conversation.resolved_at = now if action.status == Status.RESOLVED else None
    if action.assign is not None:
        conversation.assignee_id = action.assign.id
    elif action.unassign:
        conversation.assignee_id = None
    if action.add_tags or action.remove_tags:
        tags = [t for t in conversation.tags if t not in action.remove_tags]
        conversation.tags = [*tags, *(t for t in action.add_tags if t not in tags)]
    if action.priority is not None:
        conversation.priority = action.priority
    if action.no_survey:
        conversation.no_survey = True
    changes = [f"status {conversation.status}" if conversation.status != before[0] else "",
               f"assigned to {action.assign.address}" if action.assign and conversation.assignee_id != before[1]
               else "", "unassigned" if action.unassign and before[1] is not None else "",
               f"tags {', '.join(conversation.tags) or 'none'}" if conversation.tags != before[2] else "",
               f"priority {conversation.priority}" if conversation.priority != before[3] else "",
               "no survey" if action.no_survey else ""]
    return "; ".join(c for c in changes if c)


def request(kind: str, by: str, now: datetime) -> Message:
    """apply() names the author of what it does from the message that asked for it; for a request that is not
    stored mail (an admin's command, a refused agent's mail), such a message, never stored."""
    return Message(message_key="", direction=Direction.IN, kind=kind, sender=by, created_at=now)


def apply(tx: Session, conversation: Conversation, message: Message, actions: Sequence[Action], rt: Runtime,
          roster: Sequence[AgentView], now: datetime) -> None:
    """Write what the rules decided; everything here commits or rolls back with the message itself."""
    customer = tx.get(Customer, conversation.customer_id) if conversation.customer_id else None
    partner = is_partner(customer, rt)
    beta = conversation.channel in {c.lower() for c in rt.settings.channels.beta}
    subject = agent_subject(conversation, partner, beta)
    by_address = {a.address: a for a in roster}

    def tell(kind: str, recipient: str, variables: dict[str, object], note_address: bool = False) -> None:
        queue_agent_mail(tx, rt, kind=kind, conversation=conversation, recipient=recipient,
                         agent=by_address.get(recipient), subject=subject, variables=variables, now=now,
                         note_address=note_address)

    for action in actions:
        if isinstance(action, SendAcknowledgement):
            assert customer is not None, "a conversation that gets an acknowledgement has a customer"
            with _optional(tx, conversation, message, "not_acknowledged", "acknowledgement", now):
                queue_acknowledgement(tx, rt, action, conversation, customer, message, partner, now)
        elif isinstance(action, SkipAcknowledgement):
            tx.add(Note(conversation_id=conversation.id, created_at=now, kind="not_acknowledged",
                        body=f"No acknowledgement sent: {action.reason}."))
            log.info("mid=%s conv=%s no acknowledgement: %s", message.message_id or "-", conversation.ref,
                     action.reason)
        elif isinstance(action, TellAdmins):
            assert customer is not None, "the circuit breaker guards a customer's address"
            with _optional(tx, conversation, message, "admins_not_told", "notice to the admins", now):
                queue_admin_notice(tx, rt, action, conversation, customer, now)
        elif isinstance(action, NotifyAgents):
            assert customer is not None, "agents are notified of a customer's mail"
            queue_notifications(tx, rt, action.recipients, conversation, customer, message, roster, partner, beta,
                                subject, now)
        elif isinstance(action, UpdateConversation):
            previous = conversation.status
            changed = _update(conversation, action, now)
            status_changed(tx, conversation, previous, rt.settings, now, rt.autoreply.hours)
            if changed:
                tx.add(Note(conversation_id=conversation.id, created_at=now, kind="changed",
                            author=message.sender, body=changed))
                log.info("mid=%s conv=%s %s by %s", message.message_id or "-", conversation.ref, changed,
                         message.sender)
        elif isinstance(action, RelayReply):
            queue_relay(tx, rt, action, conversation, now)
            if action.saved_reply:
                tx.add(TemplateUse(name=action.saved_reply, kind="saved_reply", used_at=now,
                                   conversation_id=conversation.id))
        elif isinstance(action, AddNote):
            tx.add(Note(conversation_id=conversation.id, created_at=now, kind="agent_note",
                        author=action.author.address, body=action.text))
            for recipient in action.share_with:
                tell("note", recipient, {"author": action.author.name or action.author.address, "text": action.text},
                     note_address=True)
        elif isinstance(action, HoldReply):
            tx.add(Scheduled(kind="held_reply", due_at=now + rt.settings.agents.hold_expiry, created_at=now,
                             conversation_id=conversation.id, message_pk=action.source_pk, agent_id=action.agent.id,
                             text=action.text, html=action.html))
            colleague = action.colleague
            tell("reply_held", action.agent.address, {
                "colleague": colleague.agent_name, "at": colleague.at.strftime("%H:%M UTC"),
                "minutes": max(int((now - colleague.at).total_seconds() // 60), 0), "text": colleague.text,
                "expiry": _human(rt.settings.agents.hold_expiry)})
        elif isinstance(action, CloseHeld):
            held = tx.get(Scheduled, action.held_id)
            if held is not None:
                held.state = action.state
        elif isinstance(action, TellAgent):
            tell(action.template, action.agent.address, {"lines": list(action.lines),
                                                         "expiry": _human(rt.settings.agents.hold_expiry)})
        elif isinstance(action, FlagSender):
            told = "they were told" if action.tell else "they were told of this sender before"
            tx.add(Note(conversation_id=conversation.id, created_at=now, kind="sender_unverified",
                        author=action.agent.address,
                        body=f"Mail in {action.agent.address}'s name came from envelope sender {action.envelope_from}, "
                             f"of another domain; it was taken as theirs, and {told}."))
            if action.tell:
                tell("sent_from_elsewhere", action.agent.address, {"envelope_from": action.envelope_from})
            log.warning("mid=%s conv=%s agent mail from %s has envelope sender %s", message.message_id or "-",
                        conversation.ref, action.agent.address, action.envelope_from)
        elif isinstance(action, TellColleagues):
            for recipient in action.recipients:
                tell("colleague_replied", recipient, {"colleague": action.agent.name or action.agent.address,
                                                      "text": action.text})
        elif isinstance(action, SendSurvey):
            assert customer is not None, "a conversation that gets a survey has a customer"
            with _optional(tx, conversation, message, "not_surveyed", "survey", now):
                queue_survey(tx, rt, action, conversation, customer, message, now)
        elif isinstance(action, SkipSurvey):
            tx.add(Note(conversation_id=conversation.id, created_at=now, kind="not_surveyed",
                        body=f"No survey sent: {action.reason}."))
            log.info("conv=%s no survey: %s", conversation.ref, action.reason)
        elif isinstance(action, RecordRating):
            record_rating(tx, action.survey_id, action.rating, action.comment, "mail", now)


@contextmanager
def _optional(tx: Session, conversation: Conversation, message: Message, kind: str, what: str,
              now: datetime) -> Iterator[None]:
    """Our own courtesy mail, in a savepoint: if it fails, a note says so; the customer's message still counts."""
    try:
        with tx.begin_nested():
            yield
    except (StorageError, OperationalError):
        raise  # The store is unwell, not the mail: the whole message is processed again later.
    except Exception as exc:
        log.exception("mid=%s conv=%s %s failed", message.message_id or "-", conversation.ref, what)
        tx.add(Note(conversation_id=conversation.id, created_at=now, kind=kind,
                    body=f"No {what} sent: it failed ({type(exc).__name__}: {exc})."))


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = seconds // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
