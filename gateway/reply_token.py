"""Conversation refs and the signed tokens we put in Reply-To addresses and Message-IDs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

# Crockford-like: no 0/O, 1/I/L or U, so a ref read aloud or retyped survives.
REF_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
REF_LENGTH = 8
_TAG = re.compile(r"^(?P<ref>[a-z2-9]{8})-(?P<mac>[a-z2-7]{8})$")
_OUR_ID = re.compile(r"^<(?P<ref>[a-z2-9]{8})\.(?P<mac>[a-z2-7]{8})\.[a-z0-9]+@(?P<domain>[^>]+)>$")


def new_ref() -> str:
    return "".join(secrets.choice(REF_ALPHABET) for _ in range(REF_LENGTH))


def _mac(secret: str, ref: str, scope: str) -> str:
    digest = hmac.new(secret.encode(), f"{scope}:{ref.upper()}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:5]).decode().lower()


def reply_address(secret: str, channel: str, ref: str) -> str:
    """support+<ref>-<mac>@domain for the conversation's channel address."""
    local, _, domain = channel.partition("@")
    local = local.split("+", 1)[0]
    return f"{local}+{ref.lower()}-{_mac(secret, ref, 'reply')}@{domain}"


def agent_address(secret: str, channel: str, ref: str, agent: str, note: bool = False) -> str:
    """The address one agent answers a conversation at (note@ for internal notes); only they can use it."""
    local, _, domain = channel.partition("@")
    local = "note" if note else local.split("+", 1)[0]
    return f"{local}+{ref.lower()}-{_mac(secret, ref, 'agent:' + agent.lower())}@{domain}"


def bounce_address(secret: str, channel: str, ref: str) -> str:
    """A VERP envelope sender, support+bounce-<ref>-<mac>@domain: a bounce to it names the conversation."""
    local, _, domain = channel.partition("@")
    return f"{local.split('+', 1)[0]}+bounce-{ref.lower()}-{_mac(secret, ref, 'bounce')}@{domain}"


def ref_from_bounce_address(secret: str, address: str) -> str | None:
    """The conversation ref of a valid VERP address of ours, else None."""
    _, plus, tag = address.lower().partition("@")[0].partition("+")
    match = _TAG.match(tag.removeprefix("bounce-")) if plus and tag.startswith("bounce-") else None
    if not match or not hmac.compare_digest(match["mac"], _mac(secret, match["ref"], "bounce")):
        return None
    return match["ref"].upper()


@dataclass(frozen=True)
class Token:
    """The tag of a plus-address that looks like one of ours; not yet verified."""

    local: str
    ref: str
    mac: str

    def is_customer_token(self, secret: str) -> bool:
        return hmac.compare_digest(self.mac, _mac(secret, self.ref, "reply"))

    def is_agent_token(self, secret: str, agent: str) -> bool:
        return hmac.compare_digest(self.mac, _mac(secret, self.ref, "agent:" + agent.lower()))


def read_token(address: str) -> Token | None:
    local, _, _ = address.lower().partition("@")
    base, plus, tag = local.partition("+")
    match = _TAG.match(tag) if plus else None
    return Token(base, match["ref"].upper(), match["mac"]) if match else None


def ref_from_address(secret: str, address: str) -> str | None:
    """The conversation ref of a valid customer reply-token address, else None (forged, mistyped, or untagged)."""
    token = read_token(address)
    return token.ref if token and token.is_customer_token(secret) else None


def make_message_id(secret: str, ref: str, domain: str) -> str:
    """A Message-ID that names its conversation, so replies thread even without our Reply-To."""
    return f"<{ref.lower()}.{_mac(secret, ref, 'msgid')}.{secrets.token_hex(8)}@{domain}>"


def agent_thread_id(secret: str, ref: str, domain: str) -> str:
    """The fixed root every mail to agents about one conversation refers to, so it is one thread for them."""
    return f"<{ref.lower()}.{_mac(secret, ref, 'msgid')}.agents@{domain}>"


def ref_from_message_id(secret: str, message_id: str) -> str | None:
    """The ref inside one of our own Message-IDs, verified; None for anyone else's."""
    match = _OUR_ID.match(message_id.strip().lower())
    if not match or not hmac.compare_digest(match["mac"], _mac(secret, match["ref"], "msgid")):
        return None
    return match["ref"].upper()
