"""When a customer gets an acknowledgement, and every reason they never do (RFC 3834 and rate limits)."""

from __future__ import annotations

from fnmatch import fnmatchcase

from gateway.actions import SendAcknowledgement, SkipAcknowledgement, TellAdmins
from gateway.autoreply.facts import HOUR
from gateway.classify import base_address
from gateway.config import is_plain_address
from gateway.decision import Context, Decision


def why_not(ctx: Context) -> str:
    """The reason no acknowledgement may go out now, or "" when one may."""
    facts, settings = ctx.auto_reply, ctx.settings
    assert facts is not None, "facts are gathered for every conversation that may be acknowledged"
    auto = settings.autoreply
    address = ctx.sender.address.lower()
    local = address.partition("@")[0]
    if base_address(address) in settings.support_addresses | settings.note_addresses:
        return f"{address} is one of our own addresses"
    if pattern := next((p for p in auto.no_reply if fnmatchcase(local, p.lower())), ""):
        return f"{address} matches the no-reply pattern {pattern!r}"
    if auto.honour_spam_flag and ctx.message.header("X-Spam-Flag").strip().upper() == "YES":
        return "an upstream filter marked the mail as spam (X-Spam-Flag: YES)"
    if facts.bounced_at is not None and facts.bounced_at > ctx.now - auto.bounce_window:
        return f"mail to {address} hard-bounced on {facts.bounced_at:%Y-%m-%d}"
    if not is_plain_address(address):
        return f"{address} needs SMTPUTF8, which we do not send yet"
    if facts.automatic_last_hour >= auto.circuit_breaker:
        return f"circuit breaker: {facts.automatic_last_hour} automatic mails to {address} in the last hour"
    if facts.acknowledgements_last_hour >= auto.per_sender_per_hour:
        return f"{facts.acknowledgements_last_hour} acknowledgements to {address} in the last hour"
    return ""


def acknowledge(ctx: Context) -> Decision:
    """Acknowledge a person's new conversation, unless any never-send rule holds."""
    if not ctx.settings.autoreply.enabled or not ctx.sender.is_customer or ctx.auto_reply is None:
        return Decision()
    reason = why_not(ctx)
    if not reason:
        return Decision(actions=(SendAcknowledgement(),))
    facts = ctx.auto_reply
    tripped = facts.automatic_last_hour >= ctx.settings.autoreply.circuit_breaker
    told_lately = facts.breaker_tripped_at is not None and facts.breaker_tripped_at > ctx.now - HOUR
    if tripped and not told_lately:
        return Decision(actions=(SkipAcknowledgement(reason), TellAdmins(
            "admin/breaker_tripped", ctx.sender.address.lower(), facts.automatic_last_hour)))
    return Decision(actions=(SkipAcknowledgement(reason),))
