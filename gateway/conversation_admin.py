"""An admin's changes to a conversation, through the same apply() as agents' mail commands.

So whatever hangs on a state change there (notes, surveys scheduled or cancelled) follows an admin's change too.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from gateway.actions import Action, AddNote, RelayReply, TellColleagues, UpdateConversation
from gateway.agents.collision import must_hold
from gateway.agents.gather import colleague_reply, colleagues
from gateway.agents.reply import leaks_internal
from gateway.agents.roster import AgentView
from gateway.apply import apply, request
from gateway.errors import GatewayError
from gateway.merge import merge, survivor
from gateway.models import Conversation, Customer, Note, Priority, Status
from gateway.pipeline import load_roster
from gateway.runtime import Runtime


def run(tx: Session, rt: Runtime, conversation: Conversation, actions: list[Action], by: str, now: datetime) -> None:
    apply(tx, conversation, request("admin", by, now), actions, rt, load_roster(tx), now)


def change(tx: Session, rt: Runtime, conversation: Conversation, update: UpdateConversation, by: str,
           now: datetime) -> bool:
    """Status, assignee, tags as an agent's #commands would change them; False when nothing changed."""
    before = (conversation.status, conversation.assignee_id, list(conversation.tags))
    run(tx, rt, conversation, [update], by, now)
    if (conversation.status, conversation.assignee_id, list(conversation.tags)) == before:
        return False
    conversation.updated_at = now
    return True


def add_note(tx: Session, rt: Runtime, conversation: Conversation, text: str, by: str, now: datetime) -> None:
    """An internal note, kept on the conversation and never sent to the customer."""
    run(tx, rt, conversation, [AddNote(AgentView(0, by, by), text.strip(), ())], by, now)


def reply(tx: Session, rt: Runtime, conversation: Conversation, agent: AgentView, text: str, html: str,
          now: datetime, force: bool = False) -> None:
    """Send `text` to the customer as `agent` would by mail: the same relay, outbox and guards.

    Raises GatewayError, saying why, when the mail rule would not relay it either.
    """
    customer = tx.get(Customer, conversation.customer_id) if conversation.customer_id else None
    if customer is None or not customer.address:
        raise GatewayError(f"conversation {conversation.ref} has no customer address to answer")
    if not customer.address.isascii():
        raise GatewayError(f"the customer's address {customer.address} needs SMTPUTF8, which we do not send yet; "
                           "write to them from your own mail client")
    if not text.strip():
        raise GatewayError("the reply is empty; write the answer into the file")
    if leaks_internal(text, html):
        raise GatewayError("the reply contains lines from an internal notification; remove them and try again")
    roster = load_roster(tx)
    colleague = colleague_reply(tx, conversation, agent, roster)
    if not force and must_hold(colleague, None, now, rt.settings.agents.collision_window):
        assert colleague is not None
        minutes = int((now - colleague.at).total_seconds() // 60)
        raise GatewayError(f"{colleague.agent_name} answered the customer {minutes} minutes ago; read it with "
                           f"`gateway conversations show {conversation.ref}`, then add --force to send yours too")
    others = colleagues(tx, conversation, agent, roster)
    actions: list[Action] = [RelayReply(agent, text.strip(), html, source_pk=0)]
    if others:
        actions.append(TellColleagues(others, agent, text.strip()))
    apply(tx, conversation, request("admin", agent.address, now), actions, rt, roster, now)
    conversation.updated_at = now


_OPENNESS = (Status.OPEN, Status.PENDING, Status.RESOLVED)
_URGENCY = (Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW)


def merge_into(tx: Session, rt: Runtime, source: Conversation, target: Conversation, by: str,
               now: datetime) -> Conversation:
    """Merge `source` into `target` (or what it was merged into); the survivor is as open, as urgent and as
    assigned as the more of the two, so a request still waiting never vanishes into a resolved conversation."""
    status, priority, assignee_id = source.status, source.priority, source.assignee_id
    survivor_ = survivor(tx, target)
    merge(tx, source, survivor_, now, by)
    roster = load_roster(tx)
    assignee = next((a for a in roster if a.id == assignee_id), None) if survivor_.assignee_id is None else None
    update = UpdateConversation(
        status=status if _OPENNESS.index(Status(status)) < _OPENNESS.index(Status(survivor_.status)) else None,
        priority=priority if _URGENCY.index(Priority(priority)) < _URGENCY.index(Priority(survivor_.priority))
        else None,
        assign=assignee)
    if update != UpdateConversation():
        change(tx, rt, survivor_, update, by, now)
    return survivor_


def link(tx: Session, conversation: Conversation, other: Conversation, by: str, now: datetime) -> bool:
    """Point `conversation` at a related one (as a stranger's reply to it is); nobody sees the other's mail."""
    if conversation.id == other.id:
        raise GatewayError(f"{conversation.ref} cannot be linked to itself")
    if conversation.linked_to_id == other.id:
        return False
    conversation.linked_to_id = other.id
    for here, there in ((conversation, other), (other, conversation)):
        tx.add(Note(conversation_id=here.id, created_at=now, kind="linked", author=by,
                    body=f"linked to {there.ref} ({there.subject})"))
    return True
