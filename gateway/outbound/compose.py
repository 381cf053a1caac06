"""Render a template into a complete mail with our threading, token and automatic-mail headers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from sqlmodel import Session

from gateway.classify import LOOP_HEADER
from gateway.outbound.attachments import FileAttachment
from gateway.templating.render import render_template


class ComposedMail(EmailMessage):
    """A mail we built; `template` names the template variant it came from ("" for none), for the outbox row."""

    template: str = ""


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


def build(addressing: Addressing, subject: str, text: str, now: datetime, *, automatic: str = "",
          html: str = "", attachments: Sequence[FileAttachment] = ()) -> ComposedMail:
    """One mail, ready for the outbox; automatic mail (`auto-replied`, `auto-generated`) says so (RFC 3834)."""
    mail = ComposedMail()
    mail["From"] = formataddr((addressing.from_name, addressing.from_address))
    mail["To"] = formataddr(addressing.to)
    mail["Subject"] = subject
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = addressing.message_id
    mail["Reply-To"] = formataddr((addressing.reply_to_name or addressing.from_name, addressing.reply_to))
    if addressing.in_reply_to:
        mail["In-Reply-To"] = addressing.in_reply_to
    if addressing.references:
        # Keep the first and the newest ids: some servers refuse very long References headers.
        refs = addressing.references
        mail["References"] = " ".join(refs if len(refs) <= 20 else (refs[0], *refs[-19:]))
    mail[LOOP_HEADER] = addressing.from_address
    if automatic:
        mail["Auto-Submitted"] = automatic
        mail["X-Auto-Response-Suppress"] = "All"
        mail["Precedence"] = "auto_reply" if automatic == "auto-replied" else "bulk"
    mail.set_content(text)
    if html:
        mail.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(attachment.data, maintype=maintype or "application",
                            subtype=subtype or "octet-stream", filename=attachment.filename)
    return mail


def compose(name: str, variables: dict[str, object], addressing: Addressing, now: datetime, *,
            automatic: str = "", subject: str = "", attachments: Sequence[FileAttachment] = (),
            tx: Session | None = None, channel: str = "", language: str = "") -> ComposedMail:
    """A mail from the best variant of template `name` (overrides need `tx`); with an HTML part it is
    multipart/alternative; a given `subject` replaces the template's (agents' mail has none)."""
    rendered = render_template(tx, name, variables, channel=channel, language=language)
    mail = build(addressing, subject or rendered.subject, rendered.text, now, automatic=automatic,
                 html=rendered.html, attachments=attachments)
    mail.template = rendered.name
    return mail
