"""What processing needs besides the message: the store, settings, token secret, clock and saved replies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from gateway.agents.saved_replies import load_saved_replies
from gateway.config import Settings
from gateway.store import Store


@dataclass(frozen=True)
class Runtime:
    store: Store
    settings: Settings
    secret: str
    clock: Callable[[], datetime]
    saved_replies: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.saved_replies and self.settings.agents.saved_replies:
            self.saved_replies.update(load_saved_replies(self.settings.agents.saved_replies))
