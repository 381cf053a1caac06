"""When an acknowledgement goes out, and every reason it never does: pure rules with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.actions import SendAcknowledgement, SkipAcknowledgement, TellAdmins
from gateway.autoreply.facts import AutoReplyFacts
from gateway.autoreply.rule import acknowledge
from gateway.classify import Sender, SenderKind, classify
from gateway.config import Settings, replace
from gateway.decision import Context, ConversationView
from gateway.message import ParsedMessage, parse
from gateway.rules import decide
from tests.helpers import MAIL

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SETTINGS = Settings()


def context(address: str = "anne@customer.example", facts: AutoReplyFacts | None = AutoReplyFacts(),
            settings: Settings = SETTINGS, headers: tuple[tuple[str, str], ...] = ()) -> Context:
    msg = ParsedMessage(from_address=address, headers=headers,
                        _index={k.lower(): v for k, v in headers})
    return Context(msg, Sender(SenderKind.CUSTOMER, address, "Anne", "support@example.com"),
                   ConversationView("K7Q2M9XA", "open", True), settings, NOW, auto_reply=facts)


def test_a_new_conversation_from_a_person_is_acknowledged() -> None:
    assert acknowledge(context()).actions == (SendAcknowledgement(),)


def test_mail_that_may_not_be_acknowledged_has_no_facts_and_gets_nothing() -> None:
    assert acknowledge(context(facts=None)).actions == ()


def test_auto_replies_switched_off_send_nothing() -> None:
    off = replace(SETTINGS, autoreply={"enabled": False})
    assert acknowledge(context(settings=off)).actions == ()


def reason(ctx: Context) -> str:
    [skip, *_] = acknowledge(ctx).actions
    assert isinstance(skip, SkipAcknowledgement)
    return skip.reason


@pytest.mark.parametrize("address", ["noreply@shop.example", "no-reply-billing@shop.example",
                                     "MAILER-DAEMON@mx.example", "postmaster@customer.example",
                                     "root@host.example", "list-bounces@lists.example", "abuse@isp.example",
                                     "donotreply@bank.example"])
def test_no_reply_addresses_are_never_acknowledged(address: str) -> None:
    assert "no-reply pattern" in reason(context(address))


def test_the_no_reply_patterns_are_configurable() -> None:
    settings = replace(SETTINGS, autoreply={"no_reply": ("alerts*",)})
    assert "no-reply pattern" in reason(context("alerts-eu@monitor.example", settings=settings))
    assert acknowledge(context("noreply@shop.example", settings=settings)).actions == (SendAcknowledgement(),)


def test_our_own_addresses_are_never_acknowledged() -> None:
    assert "our own" in reason(context("support+x@example.com"))


def test_mail_flagged_as_spam_upstream_is_not_acknowledged_unless_configured() -> None:
    spam = (("X-Spam-Flag", "YES"),)
    assert "spam" in reason(context(headers=spam))
    trusting = replace(SETTINGS, autoreply={"honour_spam_flag": False})
    assert acknowledge(context(headers=spam, settings=trusting)).actions == (SendAcknowledgement(),)


def test_an_address_that_hard_bounced_within_sixty_days_is_not_acknowledged() -> None:
    assert "hard-bounced" in reason(context(facts=AutoReplyFacts(bounced_at=NOW - timedelta(days=59))))
    old = AutoReplyFacts(bounced_at=NOW - timedelta(days=61))
    assert acknowledge(context(facts=old)).actions == (SendAcknowledgement(),)


def test_a_non_ascii_address_is_not_acknowledged_until_we_speak_smtputf8() -> None:
    assert "SMTPUTF8" in reason(context("jürgen@example.de"))


def test_the_eleventh_acknowledgement_to_one_sender_within_an_hour_is_not_sent() -> None:
    assert acknowledge(context(facts=AutoReplyFacts(acknowledgements_last_hour=9))).actions == (SendAcknowledgement(),)
    assert "10 acknowledgements" in reason(context(facts=AutoReplyFacts(acknowledgements_last_hour=10)))


def test_the_circuit_breaker_stops_automatic_mail_and_tells_the_admins_once_an_hour() -> None:
    tripped = acknowledge(context(facts=AutoReplyFacts(automatic_last_hour=20))).actions
    assert isinstance(tripped[0], SkipAcknowledgement) and "circuit breaker" in tripped[0].reason
    assert tripped[1] == TellAdmins("admin/breaker_tripped", "anne@customer.example", 20)
    told = AutoReplyFacts(automatic_last_hour=25, breaker_tripped_at=NOW - timedelta(minutes=30))
    assert [type(a) for a in acknowledge(context(facts=told)).actions] == [SkipAcknowledgement]
    told_long_ago = AutoReplyFacts(automatic_last_hour=25, breaker_tripped_at=NOW - timedelta(hours=2))
    assert TellAdmins in [type(a) for a in acknowledge(context(facts=told_long_ago)).actions]


MACHINE_SAMPLES = ["outlook_ooo.eml", "german_ooo_subject_only.eml", "postfix_dsn.eml", "exim_bounce.eml",
                   "mailman_list_post.eml", "noreply_notification.eml", "read_receipt.eml", "feedback_report.eml"]


@pytest.mark.parametrize("sample", MACHINE_SAMPLES)
def test_machine_mail_is_never_acknowledged(sample: str) -> None:
    msg = parse((MAIL / sample).read_bytes())
    sender = classify(msg, None, ("support@example.com",), SETTINGS, "secret", frozenset())
    # Even with facts that would allow it, the machine rule decides first and finally.
    ctx = Context(msg, sender, ConversationView("K7Q2M9XA", "open", True), SETTINGS, NOW,
                  auto_reply=AutoReplyFacts())
    assert not any(isinstance(a, SendAcknowledgement) for a in decide(ctx))
