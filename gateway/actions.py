"""What the decide stage can ask for; apply() turns each into rows in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.agents.collision import ColleagueReply
from gateway.agents.roster import AgentView
from gateway.models import ScheduledState


@dataclass(frozen=True)
class SendAcknowledgement:
    """Tell a customer we have their new conversation (template `acknowledgement`)."""

    template: str = "acknowledgement"


@dataclass(frozen=True)
class NotifyAgents:
    """Forward the customer's message to these agent (or list) addresses."""

    recipients: tuple[str, ...]


@dataclass(frozen=True)
class UpdateConversation:
    """State changes an agent asked for; None or empty means unchanged."""

    status: str | None = None
    assign: AgentView | None = None
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    priority: str | None = None
    no_survey: bool = False
    unassign: bool = False  # an admin's `conversations assign REF nobody`


@dataclass(frozen=True)
class RelayReply:
    """Send an agent's words to the customer; attachments come from the agent's stored mail."""

    agent: AgentView
    text: str
    html: str
    source_pk: int
    saved_reply: str = ""  # the `#template NAME` it was written from, counted for `gateway templates stats`


@dataclass(frozen=True)
class AddNote:
    """An internal note, stored and shared with these colleagues, never sent to the customer."""

    author: AgentView
    text: str
    share_with: tuple[str, ...]


@dataclass(frozen=True)
class HoldReply:
    """Keep an agent's reply back because a colleague just answered; they choose #send or #drop."""

    agent: AgentView
    source_pk: int
    colleague: ColleagueReply
    text: str
    html: str


@dataclass(frozen=True)
class CloseHeld:
    """A held reply is settled: sent (DONE) or dropped (CANCELLED)."""

    held_id: int
    state: ScheduledState


@dataclass(frozen=True)
class TellAgent:
    """A short mail to one agent (template under templates/agent/), e.g. what was not understood."""

    agent: AgentView
    template: str
    lines: tuple[str, ...] = ()
    colleague: ColleagueReply | None = None


@dataclass(frozen=True)
class FlagSender:
    """An agent's mail came through an envelope sender of another domain: keep a note, and tell the agent, who
    alone can say whether it was them."""

    agent: AgentView
    envelope_from: str
    tell: bool = True  # False once the agent was told of this envelope sender: they know, and it was them


@dataclass(frozen=True)
class TellColleagues:
    """Let the other agents on the conversation know a colleague answered, so nobody starts a second reply."""

    recipients: tuple[str, ...]
    agent: AgentView
    text: str


@dataclass(frozen=True)
class SkipAcknowledgement:
    """No acknowledgement for this new conversation; the reason is kept on it for admins."""

    reason: str


@dataclass(frozen=True)
class TellAdmins:
    """Tell the admins ([mail] admins) once about automatic mail stopped for an address."""

    template: str
    address: str
    count: int


@dataclass(frozen=True)
class SendSurvey:
    """Ask the customer how the resolved conversation went (template `survey`)."""

    template: str = "survey"


@dataclass(frozen=True)
class SkipSurvey:
    """No survey for this conversation; the reason is kept on it for admins."""

    reason: str


@dataclass(frozen=True)
class RecordRating:
    """The customer answered a survey by mail: keep the rating and comment (the conversation stays as it is)."""

    survey_id: int
    rating: int
    comment: str


Action = (SendAcknowledgement | SkipAcknowledgement | TellAdmins | NotifyAgents | UpdateConversation | RelayReply
          | AddNote | HoldReply | CloseHeld | TellAgent | FlagSender | TellColleagues | SendSurvey | SkipSurvey
          | RecordRating)
