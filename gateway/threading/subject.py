"""Normalise subjects so that 'AW: Re[2]: [list] Help [#ABCD2345]' compares equal to 'help'."""

from __future__ import annotations

import re

# Reply and forward prefixes in the languages our customers' clients use (RFC 5256 base subject, widened).
_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|antw|antwort|réf\.?|ref\.?|tr|rv|odp|enc|res|r|rif|vb|ynt|atb|ats|ha|"
    r"回复|回覆|答复|转发|返信|転送)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)", re.I)
_TAG = re.compile(r"^\s*\[[^\]]*\]\s*")
_TRAILER = re.compile(r"\s*\((?:fwd|fw)\)\s*$", re.I)
REF_IN_SUBJECT = re.compile(r"\[#([A-HJKMNP-TV-Z2-9]{8})\]", re.I)


def base_subject(subject: str) -> str:
    """The subject with reply/forward prefixes, list tags, our [#ref] and case removed."""
    text = REF_IN_SUBJECT.sub(" ", subject or "")
    previous = None
    while previous != text:
        previous = text
        text = _TRAILER.sub("", _TAG.sub("", _PREFIX.sub("", text)))
    return " ".join(text.split()).casefold()


def ref_in_subject(subject: str) -> str | None:
    match = REF_IN_SUBJECT.search(subject or "")
    return match.group(1).upper() if match else None


def without_refs(subject: str) -> str:
    """The subject as the customer wrote it, minus any [#ref] of ours (never echo another conversation's)."""
    return " ".join(REF_IN_SUBJECT.sub(" ", subject or "").split())


def reply_subject(subject: str) -> str:
    """'Re: <subject>' as mail clients write it, without stacking a second 'Re:'."""
    clean = without_refs(subject)
    return clean if clean.lower().startswith("re:") else f"Re: {clean}".strip()
