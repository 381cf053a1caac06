"""Parse raw bytes into one immutable message; broken MIME yields defects, never an exception."""

from __future__ import annotations

import email
import email.utils
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message as MimePart
from email.policy import Compat32

import html2text
import mailparser

from gateway.charset import clean, decode_bytes, decode_header_value

log = logging.getLogger(__name__)
# mail-parser logs every content type it does not render; that is noise for a gateway.
logging.getLogger("mailparser").setLevel(logging.ERROR)
_MSGID = re.compile(r"<[^<>\s]+>")
# A bare "local@domain": getaddresses() turns "From: Big Bug bb@bug.com" into "big bug bb@bug.com".
_ADDR_SPEC = re.compile(r"[^@\s]+@[^@\s]+")


class _Raw8BitPolicy(Compat32):
    """compat32, but a header with raw 8-bit bytes stays a str with surrogates for decode_header_value.

    compat32 itself wraps such a header in a Header whose str() turns every 8-bit byte into U+FFFD.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_POLICY = _Raw8BitPolicy()


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str = ""
    from_address: str = ""
    from_name: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    reply_to_name: str = ""  # the first Reply-To's display name
    subject: str = ""
    date: datetime | None = None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    text: str = ""
    html: str = ""
    content_type: str = "text/plain"
    part_types: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    defects: tuple[str, ...] = ()
    looks_like_mail: bool = True
    _index: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def header(self, name: str, default: str = "") -> str:
        """The first header of that name, decoded; `default` when absent."""
        if not self._index:
            for key, value in reversed(self.headers):
                self._index[key.lower()] = value
        return self._index.get(name.lower(), default)

    def has_header(self, name: str) -> bool:
        return self.header(name, "\0") != "\0"

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc


def message_ids(value: object) -> tuple[str, ...]:
    """Every <id> in a Message-ID, In-Reply-To or References header, in order; absurdly long ones dropped."""
    return tuple(i for i in _MSGID.findall(decode_header_value(value)) if len(i) <= 995)


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    pairs = email.utils.getaddresses([decode_header_value(v) for v in values])
    return [(clean(name), clean(addr).strip().lower()) for name, addr in pairs if _ADDR_SPEC.fullmatch(addr.strip())]


def _date(value: object) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(decode_header_value(value))
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _Body:
    """What a walk over the MIME tree collects."""

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[Attachment] = []
        self.part_types: list[str] = []
        self.defects: list[str] = []

    def walk(self, part: MimePart, depth: int = 0) -> None:
        ctype = part.get_content_type()
        self.part_types.append(ctype)
        self.defects.extend(type(d).__name__ for d in part.defects)
        try:
            self._read(part, ctype, depth)
        except Exception as exc:  # The stdlib raises on some broken parameters (a NUL or 8-bit byte in a charset).
            self.defects.append(f"UnreadablePart: {type(exc).__name__}")

    def _read(self, part: MimePart, ctype: str, depth: int) -> None:
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list) and depth < 50:
            for sub in payload:
                self.walk(sub, depth + 1)
            return
        try:
            name = decode_header_value(part.get_filename() or "")
        except Exception:  # A filename in a broken RFC 2231 encoding is not worth failing for.
            name = "attachment"
        if ctype == "message/rfc822" or (part.get_content_maintype() == "message" and name):
            self.attachments.append(Attachment(name or "message.eml", ctype, len(part.as_bytes())))
            return
        data = self._payload(part)
        disposition = str(part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        if name or disposition == "attachment" or not (ctype.startswith("text/") or ctype.startswith("multipart/")):
            self.attachments.append(Attachment(name or "", ctype, len(data)))
            return
        text, guessed = decode_bytes(data, part.get_content_charset())
        if guessed:
            self.defects.append("CharsetGuessed")
        (self.html if ctype == "text/html" else self.plain).append(clean(text))

    def _payload(self, part: MimePart) -> bytes:
        try:
            data = part.get_payload(decode=True)
        except Exception:  # A payload the stdlib cannot decode is kept as written.
            data = None
        if data is None:
            raw = part.get_payload()
            data = raw.encode("ascii", "surrogateescape") if isinstance(raw, str) else b""
            if raw:
                self.defects.append("UndecodablePayload")
        return data


def _html_to_text(html: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    return converter.handle(html).strip() + "\n"


def parse(raw: bytes) -> ParsedMessage:
    """Parse raw mail; never raises, records what was broken in `defects`."""
    mime = email.message_from_bytes(raw, policy=_POLICY)
    defects: list[str] = []
    headers = tuple((k, decode_header_value(v)) for k, v in mime.items())
    try:
        parsed = mailparser.MailParser(mime)
        defects.extend(sorted(parsed.defects_categories))
    except Exception as exc:  # mail-parser gives up on some broken MIME; the stdlib still reads it.
        log.debug("mail-parser failed: %r", exc)
        defects.append(f"ParserFallback: {type(exc).__name__}")
    # Our own decoder, not mail-parser's: it drops raw 8-bit bytes from Subject and escapes them in names.
    from_pairs = _addresses(mime.get_all("From", []))
    subject = decode_header_value(mime.get("Subject", ""))
    body = _Body()
    body.walk(mime)
    defects.extend(body.defects)
    html = "\n".join(body.html)
    # A blank text/plain part beside a real HTML part (broken boundaries, some clients) must not hide it.
    plain = "\n".join(body.plain)
    text = (plain if plain.strip() or not html else _html_to_text(html)).replace("\r\n", "\n")
    name, address = from_pairs[0] if from_pairs else ("", "")
    reply_to = _addresses(mime.get_all("Reply-To", []))
    first_id = message_ids(mime.get("Message-ID", ""))
    return ParsedMessage(
        message_id=first_id[0] if first_id else "",
        from_address=address,
        from_name=decode_header_value(name),
        to=tuple(a for _, a in _addresses(mime.get_all("To", []))),
        cc=tuple(a for _, a in _addresses(mime.get_all("Cc", []))),
        reply_to=tuple(a for _, a in reply_to),
        reply_to_name=reply_to[0][0] if reply_to else "",
        subject=" ".join(subject.split()),
        date=_date(mime.get("Date", "")),
        in_reply_to=message_ids(mime.get("In-Reply-To", "")),
        references=message_ids(mime.get("References", "")),
        text=text,
        html=html,
        content_type=mime.get_content_type(),
        part_types=tuple(body.part_types),
        attachments=tuple(body.attachments),
        headers=headers,
        defects=tuple(dict.fromkeys(defects)),
        looks_like_mail=bool(headers) and any(k.lower() in _ESSENTIAL for k, _ in headers),
    )


_ESSENTIAL = {"from", "to", "subject", "message-id", "date", "received", "return-path", "sender"}
