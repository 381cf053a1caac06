"""Conversation refs and the signed tokens we put in Reply-To addresses and Message-IDs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

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


def ref_from_address(secret: str, address: str) -> str | None:
    """The conversation ref of a valid reply-token address, else None (forged, mistyped, or untagged)."""
    local = address.lower().partition("@")[0]
    _, plus, tag = local.partition("+")
    match = _TAG.match(tag) if plus else None
    if not match or not hmac.compare_digest(match["mac"], _mac(secret, match["ref"], "reply")):
        return None
    return match["ref"].upper()


def make_message_id(secret: str, ref: str, domain: str) -> str:
    """A Message-ID that names its conversation, so replies thread even without our Reply-To."""
    return f"<{ref.lower()}.{_mac(secret, ref, 'msgid')}.{secrets.token_hex(8)}@{domain}>"


def ref_from_message_id(secret: str, message_id: str) -> str | None:
    """The ref inside one of our own Message-IDs, verified; None for anyone else's."""
    match = _OUR_ID.match(message_id.strip().lower())
    if not match or not hmac.compare_digest(match["mac"], _mac(secret, match["ref"], "msgid")):
        return None
    return match["ref"].upper()
