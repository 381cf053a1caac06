"""DKIM: sign a mail's bytes once, as it enters the outbox, so every retry sends the same signed bytes."""

from __future__ import annotations

import base64
import logging
from functools import lru_cache
from pathlib import Path

import dkim
from dkim.crypto import UnparsableKeyError, parse_pem_private_key

from gateway.config import DkimSettings
from gateway.errors import ConfigError

log = logging.getLogger(__name__)
# What a relay or list may not change without breaking the signature; oversigned (listed twice) where a
# second copy added later must break it too (RFC 6376 8.15). Mail providers honour one-click unsubscribe only
# when the signature covers both List-Unsubscribe headers (RFC 8058 section 4).
_HEADERS = (b"from", b"from", b"to", b"cc", b"subject", b"subject", b"date", b"message-id", b"reply-to",
            b"in-reply-to", b"references", b"mime-version", b"content-type", b"content-transfer-encoding",
            b"auto-submitted", b"list-unsubscribe", b"list-unsubscribe", b"list-unsubscribe-post",
            b"list-unsubscribe-post")
_RSA_ALGORITHM = bytes.fromhex("06092a864886f70d0101010500")


@lru_cache(maxsize=4)
def _read_key(path: str, mtime: float) -> bytes:
    data = Path(path).read_bytes()
    parse_pem_private_key(data)  # Raises UnparsableKeyError for what dkimpy cannot sign with.
    return data


def load_key(settings: DkimSettings) -> bytes:
    """The PEM RSA private key, read once per change of the file; one line saying what is wrong otherwise."""
    path = settings.private_key
    try:
        return _read_key(path, Path(path).stat().st_mtime)
    except OSError as exc:
        raise ConfigError(f"[dkim] private_key: cannot read {path} ({exc.strerror})") from None
    except (UnparsableKeyError, ValueError, IndexError) as exc:
        raise ConfigError(f"[dkim] private_key: {path} is not a PEM RSA private key ({exc}); make one with "
                          "`openssl genrsa -out gateway.key 2048`") from None


def sign(raw: bytes, settings: DkimSettings) -> bytes:
    """The mail with a DKIM-Signature header in front; unchanged when signing is off. A key that went bad
    after start-up costs the signature (logged), never the mail."""
    if not settings.private_key:
        return raw
    try:
        signature = dkim.sign(raw, settings.selector.encode(), settings.domain.encode(), load_key(settings),
                              include_headers=list(_HEADERS), linesep=b"\r\n")
    except (ConfigError, dkim.DKIMException) as exc:
        log.error("DKIM signing failed, sending unsigned: %s", exc)
        return raw
    return signature + raw


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    length = bytes([size]) if size < 128 else bytes([0x80 | ((size.bit_length() + 7) // 8)]) + size.to_bytes(
        (size.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + body


def _integer(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def dns_record(settings: DkimSettings) -> tuple[str, str]:
    """(name, TXT value) to publish for our key: the public half, as SubjectPublicKeyInfo in base64."""
    key = parse_pem_private_key(load_key(settings))
    rsa = _der(0x30, _integer(key["modulus"]) + _integer(key["publicExponent"]))
    spki = _der(0x30, _der(0x30, _RSA_ALGORITHM) + _der(0x03, b"\0" + rsa))
    return (f"{settings.selector}._domainkey.{settings.domain}",
            f"v=DKIM1; k=rsa; p={base64.b64encode(spki).decode()}")
