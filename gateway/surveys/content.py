"""What the survey template sees: the customer's name, the conversation, and a signed link per choice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.autoreply.expectation import PHRASES
from gateway.config import Settings
from gateway.greeting import greeting_name
from gateway.surveys.choices import choices
from gateway.surveys.links import optout_token, optout_url, rating_token, rating_url
from gateway.threading.subject import reply_subject


_DAY = {"de": "{day}. {month} {year}"}


@dataclass(frozen=True)
class ChoiceView:
    """One answer in the mail: its number, its words, and the signed link that picks it."""

    value: int
    label: str
    url: str


def survey_variables(settings: Settings, secret: str, *, ref: str, subject: str, customer_name: str,
                     expires_at: datetime, language: str = "") -> dict[str, object]:
    """The `survey` template's variables for one conversation; links expire at `expires_at`."""
    base = settings.web.base_url
    scale = settings.surveys.choices
    return {
        "customer_name": greeting_name(customer_name), "ref": ref, "subject": subject,
        "reply_subject": reply_subject(subject or "Your message"), "team": settings.mail.name,
        "company": company_name(settings), "scale": scale,
        "choices": [ChoiceView(c.value, c.label, rating_url(base, rating_token(secret, ref, c.value, expires_at)))
                    for c in choices(scale)],
        "optout_url": optout_url(base, optout_token(secret, ref)),
        "expires": day(expires_at, language), "spacing_days": settings.surveys.spacing.days}


def day(at: datetime, language: str = "") -> str:
    """A date as the customer's language writes it: "16 March 2026", "16. März 2026"."""
    months = PHRASES.get(language, PHRASES["en"]).months
    return _DAY.get(language, "{day} {month} {year}").format(day=at.day, month=months[at.month - 1], year=at.year)


def company_name(settings: Settings) -> str:
    return settings.surveys.company or settings.mail.name
