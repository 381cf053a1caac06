"""What the decide stage can ask for; apply() turns each into rows in one transaction."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SendAcknowledgement:
    """Tell a customer we have their new conversation (template `acknowledgement`)."""

    template: str = "acknowledgement"


Action = SendAcknowledgement
