"""What processing needs besides the message: store, settings, token secret, clock, saved replies, auto-reply kit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from gateway.agents.saved_replies import load_saved_replies
from gateway.autoreply.content import AutoReplyKit
from gateway.config import Settings
from gateway.store import Store


@dataclass(frozen=True)
class Runtime:
    store: Store
    settings: Settings
    secret: str
    clock: Callable[[], datetime]
    saved_replies: dict[str, str] = field(default_factory=dict)
    autoreply: AutoReplyKit = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "autoreply", AutoReplyKit.from_settings(self.settings, self.clock))
        if not self.saved_replies and self.settings.agents.saved_replies:
            self.saved_replies.update(load_saved_replies(self.settings.agents.saved_replies))
