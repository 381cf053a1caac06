"""Turn mail bytes and headers into text, whatever charset they claim."""

from __future__ import annotations

import codecs
from email.header import decode_header

# Labels seen in real mail that Python does not know, mapped to the codec mail clients use.
_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "x-sjis": "shift_jis",
    "shift-jis": "shift_jis",
    "x-euc-jp": "euc_jp",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "x-mac-roman": "mac_roman",
}
FALLBACKS = ("utf-8", "windows-1252", "iso-8859-1")


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip('"').lower()
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except (LookupError, ValueError):  # ValueError: a label with a NUL in it.
        return None


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, bool]:
    """Decode with the declared charset, then utf-8, windows-1252, iso-8859-1; True if we had to guess."""
    declared_codec = _codec(declared)
    if declared_codec:
        try:
            return data.decode(declared_codec), False
        except UnicodeDecodeError:
            pass
    for label in FALLBACKS:
        try:
            return data.decode(label), declared_codec is not None or not data.isascii()
        except UnicodeDecodeError:
            continue
    raise AssertionError("iso-8859-1 decodes every byte")  # pragma: no cover


def decode_header_value(value: object) -> str:
    """An RFC 2047 header (raw 8-bit tolerated) as one clean line of text."""
    if value is None:
        return ""
    text = str(value)
    # The stdlib keeps raw 8-bit header bytes as surrogates; give them a charset first.
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text = decode_bytes(text.encode("ascii", "surrogateescape"))[0]
    try:
        parts = decode_header(text)
    except Exception:  # A broken encoded-word must leave the header as written, not fail.
        return clean(" ".join(text.split()))
    out = []
    for chunk, charset in parts:
        out.append(decode_bytes(chunk, charset)[0] if isinstance(chunk, bytes) else chunk)
    joined = "".join(out) if len(parts) > 1 else out[0] if out else ""
    return clean(" ".join(joined.split()))


def clean(text: str) -> str:
    """Drop NUL characters, which PostgreSQL text cannot hold and no reader wants."""
    return text.replace("\x00", "")
