"""The values every rule works with: what it sees (Context) and what it answers (Decision)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gateway.actions import Action
from gateway.classify import Sender
from gateway.config import Settings
from gateway.message import ParsedMessage


@dataclass(frozen=True)
class ConversationView:
    """What a rule may know of the conversation (read-only)."""

    ref: str
    status: str
    is_new: bool


@dataclass(frozen=True)
class Context:
    message: ParsedMessage
    sender: Sender
    conversation: ConversationView
    settings: Settings
    now: datetime


@dataclass(frozen=True)
class Decision:
    """`final=True` stops the chain: no later rule runs."""

    actions: tuple[Action, ...] = ()
    final: bool = False


Rule = Callable[[Context], Decision]
