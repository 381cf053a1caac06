"""Why an acknowledgement was not sent, in a few words: the notes say it per address, the report per reason."""

from __future__ import annotations

# Phrases of the never-send rules (gateway/autoreply/rule.py why_not, gateway/apply.py) and the reason they name.
REASONS: tuple[tuple[str, str], ...] = (
    ("is one of our own addresses", "our own address"),
    ("matches the no-reply pattern", "no-reply address"),
    ("X-Spam-Flag", "marked as spam upstream"),
    ("hard-bounced", "address bounced lately"),
    ("needs SMTPUTF8", "non-ASCII address"),
    ("circuit breaker", "circuit breaker (mail loop)"),
    ("acknowledgements to", "hourly limit per sender"),
    ("it failed (", "failed to compose"),
)


def reason_of(note_body: str) -> str:
    """The short reason a `not_acknowledged` note gives; "other" for wording this table does not know."""
    return next((reason for phrase, reason in REASONS if phrase in note_body), "other")
