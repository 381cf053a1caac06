"""The signed links in a survey: one per rating (bound to the conversation, the rating and an expiry), and the
opt-out link. Only the HMAC under the gateway's secret makes them valid, so nobody can rate another's conversation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.reply_token import REF_ALPHABET

# 80 bits: these links can be guessed at over HTTP, where reply-address tokens (40 bits) only face an MTA.
_MAC_BYTES = 10
_REF = f"[{REF_ALPHABET.lower()}]{{8}}"
_RATING = re.compile(rf"^(?P<ref>{_REF})\.(?P<rating>[1-5])\.(?P<expiry>[0-9a-z]{{1,10}})\.(?P<mac>[a-z2-7]{{16}})$")
_OPTOUT = re.compile(rf"^(?P<ref>{_REF})\.(?P<mac>[a-z2-7]{{16}})$")


@dataclass(frozen=True)
class RatingLink:
    """A verified rating link: which conversation, which choice, valid until when."""

    ref: str
    rating: int
    expires_at: datetime


def _mac(secret: str, scope: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), f"survey-{scope}:{payload}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:_MAC_BYTES]).decode().lower()


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def rating_token(secret: str, ref: str, rating: int, expires_at: datetime) -> str:
    """`<ref>.<rating>.<expiry>.<mac>`: short enough for a link, nothing in it a customer must keep secret."""
    payload = f"{ref.lower()}.{rating}.{_base36(int(expires_at.timestamp()))}"
    return f"{payload}.{_mac(secret, 'rating', payload)}"


def read_rating_token(secret: str, token: str) -> RatingLink | None:
    """The link a token stands for, or None when it is malformed or forged (expiry is the caller's to judge)."""
    match = _RATING.match(token.strip().lower())
    if not match:
        return None
    payload = token.strip().lower().rpartition(".")[0]
    if not hmac.compare_digest(match["mac"], _mac(secret, "rating", payload)):
        return None
    expires_at = datetime.fromtimestamp(int(match["expiry"], 36), UTC)
    return RatingLink(match["ref"].upper(), int(match["rating"]), expires_at)


def optout_token(secret: str, ref: str) -> str:
    """The opt-out link's token; it never expires, as List-Unsubscribe must keep working (RFC 8058)."""
    return f"{ref.lower()}.{_mac(secret, 'optout', ref.lower())}"


def read_optout_token(secret: str, token: str) -> str | None:
    """The conversation ref of a valid opt-out token (the customer is that conversation's), else None."""
    match = _OPTOUT.match(token.strip().lower())
    if not match or not hmac.compare_digest(match["mac"], _mac(secret, "optout", match["ref"])):
        return None
    return match["ref"].upper()


def rating_url(base_url: str, token: str) -> str:
    return f"{base_url}/survey/{token}"


def optout_url(base_url: str, token: str) -> str:
    return f"{base_url}/surveys/optout/{token}"
