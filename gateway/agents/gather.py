"""Read from the store what the rules must know around an agent's mail (the rules themselves do no I/O)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from gateway.agents.collision import ColleagueReply
from gateway.agents.reply_text import ReplyText
from gateway.agents.roster import AgentView
from gateway.decision import AgentMail, HeldView
from gateway.message import ParsedMessage
from gateway.models import Conversation, Direction, Message, Note, Scheduled, ScheduledState
from gateway.outbound.agent_mail import AGENT_KINDS
from gateway.outbound.attachments import attachments_of
from gateway.threading.dedupe import normalise_id


def _seen_at(tx: Session, conversation: Conversation, msg: ParsedMessage, agent: AgentView) -> datetime | None:
    """When we sent the mail this reply answers; else our newest mail to this agent on the conversation."""
    ours = select(Message.created_at).where(
        Message.conversation_id == conversation.id, Message.direction == Direction.OUT,
        col(Message.kind).in_(AGENT_KINDS))
    if msg.in_reply_to:
        answered = tx.exec(ours.where(Message.message_key == normalise_id(msg.in_reply_to[0]))).first()
        if answered is not None:
            return answered
    return tx.exec(ours.where(Message.agent_id == agent.id).order_by(col(Message.id).desc())).first()


def colleague_reply(tx: Session, conversation: Conversation, agent: AgentView,
                    roster: tuple[AgentView, ...]) -> ColleagueReply | None:
    row = tx.exec(select(Message).where(
        Message.conversation_id == conversation.id, Message.direction == Direction.OUT,
        Message.kind == "agent_reply", Message.agent_id != agent.id).order_by(col(Message.id).desc())).first()
    if row is None:
        return None
    colleague = next((a for a in roster if a.id == row.agent_id), None)
    name = (colleague.name or colleague.address) if colleague else "A colleague"
    return ColleagueReply(name, colleague.address if colleague else "", row.created_at, row.text.strip())


def colleagues(tx: Session, conversation: Conversation, agent: AgentView,
               roster: tuple[AgentView, ...]) -> tuple[str, ...]:
    """Agents who were told of or answered this conversation, other than this one."""
    ids = set(tx.exec(select(Message.agent_id).where(
        Message.conversation_id == conversation.id, col(Message.agent_id).is_not(None))).all())
    return tuple(a.address for a in roster if a.id in ids and a.id != agent.id)


def _held(tx: Session, conversation: Conversation, agent: AgentView) -> HeldView | None:
    held = tx.exec(select(Scheduled).where(
        Scheduled.conversation_id == conversation.id, Scheduled.agent_id == agent.id,
        Scheduled.kind == "held_reply", Scheduled.state == ScheduledState.PENDING)
        .order_by(col(Scheduled.id).desc())).first()
    if held is None or held.message_pk is None:
        return None
    return HeldView(held.id, held.message_pk, held.text, held.html)  # type: ignore[arg-type]


def _flagged_before(tx: Session, agent: AgentView, envelope_from: str) -> bool:
    """Whether this agent's mail came from this envelope sender before (on any conversation), so they were told."""
    return tx.exec(select(Note.id).where(Note.kind == "sender_unverified", Note.author == agent.address,
                                         col(Note.body).contains(f" {envelope_from}, ")).limit(1)).first() is not None


def gather_agent_mail(tx: Session, conversation: Conversation, message: Message, msg: ParsedMessage,
                      agent: AgentView, reply: ReplyText, to_note_address: bool,
                      roster: tuple[AgentView, ...], raw: bytes, foreign_envelope: str = "") -> AgentMail:
    last_notice = tx.exec(select(Message.created_at).where(
        Message.agent_id == agent.id, Message.conversation_id == conversation.id, Message.direction == Direction.OUT,
        Message.kind == "not_understood")
        .order_by(col(Message.id).desc())).first()
    return AgentMail(
        agent=agent, message_pk=message.id, reply=reply, to_note_address=to_note_address,  # type: ignore[arg-type]
        seen_at=_seen_at(tx, conversation, msg, agent),
        colleague_reply=colleague_reply(tx, conversation, agent, roster),
        colleagues=colleagues(tx, conversation, agent, roster),
        held=_held(tx, conversation, agent), last_notice_at=last_notice, has_files=bool(attachments_of(raw)),
        foreign_envelope=foreign_envelope,
        foreign_envelope_known=bool(foreign_envelope) and _flagged_before(tx, agent, foreign_envelope))
