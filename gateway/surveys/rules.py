"""Whether a due survey goes out: every send-time rule, as plain functions over facts and a clock."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

from gateway.actions import Action, SendSurvey, SkipSurvey
from gateway.classify import base_address
from gateway.config import Settings, is_plain_address
from gateway.models import Status


@dataclass(frozen=True)
class SurveyFacts:
    """What the store knows, at send time, about one conversation and its customer."""

    ref: str
    status: str
    channel: str
    customer_address: str
    merged: bool = False
    no_survey: bool = False
    already_surveyed: bool = False  # this conversation got one before
    customer_wrote: bool = True  # a person (not an auto-responder) wrote in it
    agent_replied: bool = False  # an agent's reply was relayed to the customer
    partner: bool = False
    opted_out_at: datetime | None = None
    bounced_at: datetime | None = None
    last_surveyed_at: datetime | None = None  # on any conversation
    automatic_last_hour: int = 0  # automatic mail to the address, surveys included


def in_sample(ref: str, rate: int) -> bool:
    """A fixed draw per conversation (so a retry decides the same), true for `rate` percent of refs."""
    if rate >= 100:
        return True
    draw = int.from_bytes(hashlib.sha256(f"survey-sample:{ref.upper()}".encode()).digest()[:4], "big") % 100
    return draw < rate


def _not_a_person(facts: SurveyFacts, settings: Settings) -> str:
    address = facts.customer_address.lower()
    local = address.partition("@")[0]
    if base_address(address) in settings.support_addresses | settings.note_addresses:
        return f"{address} is one of our own addresses"
    if pattern := next((p for p in settings.autoreply.no_reply if fnmatchcase(local, p.lower())), ""):
        return f"{address} matches the no-reply pattern {pattern!r}"
    if not is_plain_address(address):
        return f"{address} needs SMTPUTF8, which we do not send yet"
    if not facts.customer_wrote:
        return "no person wrote in it (only automatic mail)"
    return ""


def why_no_survey(facts: SurveyFacts, settings: Settings, now: datetime) -> str:
    """The reason no survey may go out now, or "" when one may; the first rule that holds is named."""
    surveys = settings.surveys
    if not surveys.enabled:
        return "surveys are off ([surveys] enabled = false)"
    if not settings.web.public_url:
        # Without it the links point to this machine's own listener, which no customer can open.
        return "no address customers can open its links at ([web] public_url is empty)"
    if facts.merged:
        return "it was merged into another conversation"
    if facts.status != Status.RESOLVED:
        return f"it is {facts.status} again, no longer resolved"
    if facts.already_surveyed:
        return "it was surveyed before"
    if facts.no_survey:
        return "an agent marked it #nosurvey"
    if not facts.agent_replied:
        return "no agent replied to the customer in it"
    if reason := _not_a_person(facts, settings):
        return reason
    if facts.opted_out_at is not None:
        return f"the customer opted out of surveys on {facts.opted_out_at:%Y-%m-%d}"
    if facts.bounced_at is not None and facts.bounced_at > now - settings.autoreply.bounce_window:
        return f"mail to {facts.customer_address} hard-bounced on {facts.bounced_at:%Y-%m-%d}"
    if facts.partner and surveys.exclude_partners:
        return "partners are not surveyed ([surveys] exclude_partners)"
    if facts.channel.lower() in {c.lower() for c in surveys.exclude_channels}:
        return f"{facts.channel} is not surveyed ([surveys] exclude_channels)"
    if facts.last_surveyed_at is not None and facts.last_surveyed_at > now - surveys.spacing:
        return (f"the customer was surveyed on {facts.last_surveyed_at:%Y-%m-%d}, within the "
                f"{surveys.spacing.days}-day spacing")
    if facts.automatic_last_hour >= settings.autoreply.circuit_breaker:
        return f"circuit breaker: {facts.automatic_last_hour} automatic mails to the customer in the last hour"
    if not in_sample(facts.ref, surveys.sample_rate):
        return f"not drawn in the {surveys.sample_rate}% sample ([surveys] sample_rate)"
    return ""


def decide_survey(facts: SurveyFacts, settings: Settings, now: datetime) -> list[Action]:
    """What a due survey becomes: the mail, or a note saying why not."""
    reason = why_no_survey(facts, settings, now)
    return [SkipSurvey(reason)] if reason else [SendSurvey()]
