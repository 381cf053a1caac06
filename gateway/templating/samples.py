"""Plausible values for every template's variables: for `preview`, `send-test`, and the render check on save."""

from __future__ import annotations

from collections.abc import Callable

from gateway.autoreply.views import HoursView, IncidentView, LinkView, ResponseView
from gateway.surveys.choices import choices
from gateway.surveys.content import ChoiceView
from gateway.templating.catalog import base_of, info, suffix_of

Variables = dict[str, object]

# Phrases the autoreply views carry, per language: the views arrive already phrased in the customer's language.
_PHRASES = {
    "en": {"typical": "usually within 3 hours", "today": "by about 14:30 CET today",
           "monday": "on Monday by about 11:00 CET",
           "tuesday": "on Tuesday by about 11:00 CET", "opens_monday": "Monday at 09:00 CET",
           "opens_tuesday": "Tuesday at 09:00 CET", "holiday": "Easter Monday", "until": "Saturday at 18:00 CET",
           "kb": "Knowledge base", "status": "Status page", "article": "Printer shows “offline” after an update",
           "outage": "Mail delivery delays", "outage_detail": "Some replies reach customers up to an hour late.",
           "maintenance": "Database upgrade", "maintenance_detail": "The customer portal is read-only meanwhile.",
           "subject": "Printer offline since the update", "timezone": "CET"},
    "de": {"typical": "meist innerhalb von 3 Stunden", "today": "heute bis etwa 14:30 Uhr CET",
           "monday": "am Montag bis etwa 11:00 Uhr CET", "tuesday": "am Dienstag bis etwa 11:00 Uhr CET",
           "opens_monday": "Montag um 09:00 Uhr CET", "opens_tuesday": "Dienstag um 09:00 Uhr CET",
           "holiday": "Ostermontag", "until": "Samstag um 18:00 Uhr CET", "kb": "Hilfe-Center", "status": "Statusseite",
           "article": "Drucker zeigt nach einem Update „offline“", "outage": "Verzögerte E-Mail-Zustellung",
           "outage_detail": "Manche Antworten kommen bis zu einer Stunde später an.", "maintenance": "Datenbank-Update",
           "maintenance_detail": "Das Kundenportal ist währenddessen nur lesbar.",
           "subject": "Drucker seit dem Update offline", "timezone": "CET"},
}


def _acknowledgement(name: str) -> list[tuple[str, Variables]]:
    suffix = suffix_of(name).split(".")
    p = _PHRASES["de" if "de" in suffix else "en"]
    local = next((s for s in suffix if s and s not in _PHRASES), "support")
    base: Variables = {
        "customer_name": "Anne", "ref": "K7Q2M9XA", "subject": p["subject"], "reply_subject": f"Re: {p['subject']}",
        "team": "Example Support", "channel": local, "partner": False,
        "hours": HoursView(open_now=True, timezone=p["timezone"]),
        "response": ResponseView(p["typical"], p["today"], measured=True, median_minutes=170, p90_minutes=420,
                                 samples=86),
        "links": [LinkView(p["kb"], "https://help.example.com/"), LinkView(p["status"], "https://status.example.com/")],
        "articles": [LinkView(p["article"], "https://help.example.com/printer-offline")],
        "incidents": [IncidentView(p["outage"], "outage", p["outage_detail"]),
                      IncidentView(p["maintenance"], "maintenance", p["maintenance_detail"], p["until"])]}
    weekend: Variables = {
        **base, "customer_name": "", "links": [], "articles": [], "incidents": [],
        "hours": HoursView(False, "weekend", next_opening=p["opens_monday"], timezone=p["timezone"]),
        "response": ResponseView(p["typical"], p["monday"], measured=False)}
    holiday: Variables = {
        **base, "partner": True, "incidents": [IncidentView(p["outage"], "outage", until=p["until"])],
        "hours": HoursView(False, "holiday", holiday=p["holiday"], next_opening=p["opens_tuesday"],
                           timezone=p["timezone"]),
        "response": ResponseView(p["typical"], p["tuesday"], measured=True, median_minutes=170, p90_minutes=420,
                                 samples=86)}
    night: Variables = {**weekend, "customer_name": "Jörg", "hours": HoursView(False, "night", timezone=p["timezone"]),
                        "response": ResponseView(p["typical"], p["today"], measured=True)}
    return [("open now, with links, an article and two incidents", base),
            ("closed for the weekend, no name, nothing else to say", weekend),
            ("closed for a holiday, a partner, an outage with an end", holiday), ("closed for the night", night)]


def _notification(_: str) -> list[tuple[str, Variables]]:
    first: Variables = {
        "ref": "K7Q2M9XA", "partner": True, "partner_tier": 2, "beta": True, "channel": "beta@example.com",
        "customer": "Anne Example <anne@customer.example>", "customer_name": "Anne Example",
        "customer_address": "anne@customer.example", "status": "open", "priority": "normal", "assignee": "Alice",
        "tags": ["printer"], "history_count": 1,
        "history": [{"ref": "QW3RT5YZ", "subject": "Invoice missing", "status": "resolved"}],
        "written": "Mon 2 Mar 2026 09:00 UTC", "text": "Hello, my printer says it is offline.",
        "attachments": ["photo.jpg (120 KB)"]}
    plain: Variables = {**first, "partner": False, "partner_tier": 0, "beta": False, "channel": "support@example.com",
                        "assignee": "", "tags": [], "history_count": 0, "history": [], "attachments": []}
    return [("a partner's beta mail with history and a file", first), ("a first conversation", plain)]


def _agent(name: str) -> list[tuple[str, Variables]]:
    values: Variables = {
        "ref": "K7Q2M9XA", "author": "Alice", "colleague": "Bob", "at": "09:20 UTC", "minutes": 4,
        "expiry": "1 hour", "text": "Hi Anne, please try turning it off and on again.",
        "lines": ["#asign me: no such command (did you mean #assign?)"], "envelope_from": "alice@gmail.example"}
    return [("an agent's notice", {k: v for k, v in values.items() if k in info(name).variables}),
            ("an agent's notice, nothing listed", {k: ([] if k == "lines" else v) for k, v in values.items()
                                                    if k in info(name).variables})]


def _admin(_: str) -> list[tuple[str, Variables]]:
    return [("a tripped circuit breaker", {"address": "loop@customer.example", "count": 20, "window": "an hour",
                                           "team": "Example Support", "ref": "K7Q2M9XA"})]


def _survey(name: str) -> list[tuple[str, Variables]]:
    def links(scale: int) -> list[ChoiceView]:
        return [ChoiceView(c.value, c.label, f"https://support.example.com/survey/k7q2m9xa.{c.value}.t5m2a0.sample")
                for c in choices(scale)]

    five: Variables = {
        "customer_name": "Anne", "ref": "K7Q2M9XA", "subject": "Printer offline since the update",
        "reply_subject": "Re: Printer offline since the update", "team": "Example Support", "company": "Example",
        "scale": 5, "choices": links(5), "optout_url": "https://support.example.com/surveys/optout/k7q2m9xa.sample",
        "expires": "16. März 2026" if "de" in suffix_of(name).split(".") else "16 March 2026", "spacing_days": 30}
    three: Variables = {**five, "customer_name": "", "subject": "", "reply_subject": "Re: Your message", "scale": 3,
                        "choices": links(3)}
    return [("five choices", five), ("three choices, no name, no subject", three)]


_BUILDERS: dict[str, Callable[[str], list[tuple[str, Variables]]]] = {
    "acknowledgement": _acknowledgement, "notification": _notification, "admin/breaker_tripped": _admin,
    "survey": _survey}


def sample_variable_sets(name: str) -> list[tuple[str, Variables]]:
    """Several (description, variables) cases, so the render check on save tries more than one branch."""
    base = base_of(name)
    info(name)
    builder = _BUILDERS.get(base, _agent if base.startswith("agent/") else None)
    if builder is None:
        # A template added to the catalog without samples: a placeholder per variable still renders most text.
        return [("placeholders", {v: f"<{v}>" for v in info(name).variables})]
    return builder(name)


def sample_variables(name: str) -> Variables:
    """One plausible set of values for `name` (a base or a variant), e.g. for `gateway templates preview`."""
    return dict(sample_variable_sets(name)[0][1])
