"""The values every rule works with: what it sees (Context) and what it answers (Decision)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from gateway.actions import Action
from gateway.agents.collision import ColleagueReply
from gateway.agents.reply_text import ReplyText
from gateway.agents.roster import AgentView
from gateway.autoreply.facts import AutoReplyFacts
from gateway.classify import Sender
from gateway.config import Settings
from gateway.message import ParsedMessage
from gateway.models import Priority
from gateway.surveys.mail_rating import SurveyReply


@dataclass(frozen=True)
class ConversationView:
    """What a rule may know of the conversation (read-only)."""

    ref: str
    status: str
    is_new: bool
    channel: str = ""
    subject: str = ""
    customer_name: str = ""
    customer_address: str = ""
    partner: bool = False
    tags: tuple[str, ...] = ()
    priority: str = Priority.NORMAL
    assignee: AgentView | None = None


@dataclass(frozen=True)
class HeldView:
    """An agent's reply held for a collision, waiting for their #send or #drop."""

    id: int
    message_pk: int
    text: str
    html: str


@dataclass(frozen=True)
class AgentMail:
    """An authenticated agent's mail, and what the rules must know around it."""

    agent: AgentView
    message_pk: int
    reply: ReplyText
    to_note_address: bool = False
    seen_at: datetime | None = None  # when we sent the mail this one answers
    colleague_reply: ColleagueReply | None = None
    colleagues: tuple[str, ...] = ()  # other agents who were told of or answered this conversation
    held: HeldView | None = None
    last_notice_at: datetime | None = None  # our last "not understood" answer to this agent here
    has_files: bool = False  # attachments (not inline images) to relay
    # Its envelope sender, when of another domain than the agent's and no MTA checked DMARC for us: a forged From
    # would look like this (so would Gmail's "send mail as"). Known: the agent was told of it once already.
    foreign_envelope: str = ""
    foreign_envelope_known: bool = False


@dataclass(frozen=True)
class Context:
    message: ParsedMessage
    sender: Sender
    conversation: ConversationView
    settings: Settings
    now: datetime
    roster: tuple[AgentView, ...] = ()
    lists: frozenset[str] = frozenset()  # list addresses channels notify (not agents)
    agent_mail: AgentMail | None = None
    saved_replies: Mapping[str, str] = field(default_factory=dict)
    auto_reply: AutoReplyFacts | None = None  # gathered only when an acknowledgement may be due
    survey_reply: SurveyReply | None = None  # a rating in reply to our survey mail
    imported: bool = False  # history brought in by `gateway import`: recorded, never answered


@dataclass(frozen=True)
class Decision:
    """`final=True` stops the chain: no later rule runs."""

    actions: tuple[Action, ...] = ()
    final: bool = False


Rule = Callable[[Context], Decision]
