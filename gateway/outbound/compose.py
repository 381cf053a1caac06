"""Render a template into a complete mail with our threading, token and automatic-mail headers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email import charset as charsets
from email import encoders
from email.header import Header
from email.message import Message as MimeMessage
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr

from sqlmodel import Session

from gateway.classify import LOOP_HEADER
from gateway.outbound.attachments import FileAttachment
from gateway.templating.render import render_template

# compat32 keeps header values as the strings we give: the default policy parses every header we set
# (and again when writing), which was most of the cost of composing a mail.
_CRLF = compat32.clone(linesep="\r\n")
# Quoted-printable keeps UTF-8 text readable in the raw mail and needs no 8BITMIME from the relay.
_UTF8 = charsets.Charset("utf-8")
_UTF8.body_encoding = charsets.QP


@dataclass(frozen=True)
class Addressing:
    """Who the mail is from and to, and where it sits in the thread."""

    from_name: str
    from_address: str
    to: tuple[str, str]
    reply_to: str
    message_id: str
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    reply_to_name: str = ""


@dataclass(frozen=True)
class ComposedMail:
    """A mail we built: its fixed bytes (CRLF), and what the outbox records about it."""

    raw: bytes
    message_id: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    automatic: bool
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    # The template variant it was rendered from ("" for none), for `gateway templates stats`.
    template: str = ""


def _one_line(value: str) -> str:
    # A line break in a header value would start a header of the sender's choosing.
    return " ".join(value.split()) if "\n" in value or "\r" in value else value


def _header(value: str) -> str | Header:
    value = _one_line(value)
    return value if value.isascii() else Header(value, "utf-8")


def _address(name: str, address: str) -> str:
    name = _one_line(name)
    if address.isascii():
        return formataddr((name, address), charset="utf-8")
    # An internationalised address can only travel with SMTPUTF8; the header is then UTF-8 as a whole.
    return f"{name} <{address}>" if name else address


def _text_part(text: str, subtype: str) -> MIMEText:
    return MIMEText(text, subtype, "us-ascii" if text.isascii() else _UTF8)


def _file_part(attachment: FileAttachment) -> MIMEBase:
    maintype, _, subtype = attachment.content_type.partition("/")
    part = MIMEBase(maintype or "application", subtype or "octet-stream")
    part.set_payload(attachment.data)
    encoders.encode_base64(part)
    name = attachment.filename
    part.add_header("Content-Disposition", "attachment", filename=name if name.isascii() else ("utf-8", "", name))
    return part


def _multipart(subtype: str, parts: list[MimeMessage]) -> MIMEMultipart:
    for part in parts:
        del part["MIME-Version"]  # The stdlib's MIME classes add it to every part; it belongs at the top.
    return MIMEMultipart(subtype, _subparts=parts)


def _body(text: str, html: str, attachments: Sequence[FileAttachment]) -> MimeMessage:
    body: MimeMessage = _text_part(text, "plain")
    if html:
        body = _multipart("alternative", [body, _text_part(html, "html")])
    if attachments:
        body = _multipart("mixed", [body, *(_file_part(a) for a in attachments)])
    return body


def build(addressing: Addressing, subject: str, text: str, now: datetime, *, automatic: str = "",
          html: str = "", attachments: Sequence[FileAttachment] = (),
          headers: Sequence[tuple[str, str]] = ()) -> ComposedMail:
    """One mail, ready for the outbox; automatic mail (`auto-replied`, `auto-generated`) says so (RFC 3834);
    `headers` are added as given (e.g. List-Unsubscribe)."""
    mail = _body(text, html, attachments)
    top: list[tuple[str, str | Header]] = [
        ("From", _address(addressing.from_name, addressing.from_address)),
        ("To", _address(*addressing.to)),
        ("Subject", _header(subject)),
        ("Date", format_datetime(now)),
        ("Message-ID", addressing.message_id),
        ("Reply-To", _address(addressing.reply_to_name or addressing.from_name, addressing.reply_to))]
    if addressing.in_reply_to:
        top.append(("In-Reply-To", addressing.in_reply_to))
    refs = addressing.references
    if refs:
        # Keep the first and the newest ids: some servers refuse very long References headers.
        refs = refs if len(refs) <= 20 else (refs[0], *refs[-19:])
        top.append(("References", " ".join(refs)))
    top.append((LOOP_HEADER, addressing.from_address))
    if automatic:
        top += [("Auto-Submitted", automatic), ("X-Auto-Response-Suppress", "All"),
                    ("Precedence", "auto_reply" if automatic == "auto-replied" else "bulk")]
    # The envelope headers first, as mail clients write them; then the body's MIME headers.
    mime_headers = mail.items()
    for name in dict(mime_headers):
        del mail[name]
    for name, value in (*top, *((n, _one_line(v)) for n, v in headers), *mime_headers):
        mail[name] = value
    return ComposedMail(raw=mail.as_bytes(policy=_CRLF), message_id=addressing.message_id,
                        recipients=(addressing.to[1],), subject=_one_line(subject), text=text,
                        automatic=bool(automatic), in_reply_to=addressing.in_reply_to, references=refs)


def compose(name: str, variables: dict[str, object], addressing: Addressing, now: datetime, *,
            automatic: str = "", subject: str = "", attachments: Sequence[FileAttachment] = (),
            tx: Session | None = None, channel: str = "", language: str = "",
            headers: Sequence[tuple[str, str]] = ()) -> ComposedMail:
    """A mail from the best variant of template `name` (overrides need `tx`); with an HTML part it is
    multipart/alternative; a given `subject` replaces the template's (agents' mail has none)."""
    rendered = render_template(tx, name, variables, channel=channel, language=language)
    mail = build(addressing, subject or rendered.subject, rendered.text, now, automatic=automatic,
                 html=rendered.html, attachments=attachments, headers=headers)
    return replace(mail, template=rendered.name)
