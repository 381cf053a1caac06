"""Read a bounce: which recipients failed or are delayed, with what status, and which mail it was about."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message as MimePart

from gateway.message import ParsedMessage

# One bare addr-spec; Exim writes pipes ("|/usr/bin/x a@b") and files as recipients, never ours to mark.
ADDRESS = re.compile(r"(?![|/])[^\s@<>,;:()\"'\[\]]+@[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z]{2,}")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"\b([45])\d\d\b")
_DELAYED = re.compile(r"delay|still being retried|will (continue to )?(be )?retr|not (yet )?been delivered yet|"
                      r"has not yet been delivered|warning: (message|could not send)|temporar", re.I)
_PERMANENT_WORDS = re.compile(r"permanent|user unknown|unknown user|no such (user|mailbox|recipient)|does not exist|"
                              r"mailbox (is )?(unavailable|full|disabled)|address rejected|could not be delivered|"
                              r"couldn't be delivered|undeliverable|not delivered|delivery (has )?failed|"
                              r"recipient rejected|invalid recipient|unrouteable|hop count exceeded", re.I)
# Where plain-text bounces name the address that failed (qmail, Exim, Postfix, Sendmail, Exchange, many ISPs).
_NAMED = (
    re.compile(r"^\s*<(?P<a>[^<>\s]+@[^<>\s]+)>\s*:", re.M),                        # qmail, Postfix: <a@b>:
    re.compile(r"(?:failed|delivered|deliver(?:ed)? to|recipients?|addresse?e?s?)\s*:?\s*\n?\s*<?"
               r"(?P<a>[^\s<>@,;:]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})", re.I),        # "could not be delivered to: <a>"
    # A line holding just the address (Exim, Exchange, Office 365), maybe with its reason or a date after it.
    re.compile(r"^\s*\"?<?(?P<a>[^\s<>@,;:\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})>?\"?(?:<mailto:[^>]*>)?"
               r"\s*(?::|\[[^\]\n]*\]|\s+on\s[^\n]*)?\s*$", re.M),
    re.compile(r"deliver(?:ing|y of) your (?:mail|message) to\s*<?(?P<a>[^\s<>@,;:]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})",
               re.I),
    re.compile(r"RCPT TO:?\s*<(?P<a>[^<>\s]+@[^<>\s]+)>", re.I),                   # Sendmail transcript
    re.compile(r"<(?P<a>[^<>\s]+@[^<>\s]+)>[^\n]{0,80}?\b[45]\d\d\b"),               # <a@b> ... 550
)
_MESSAGE_ID_HEADER = re.compile(rb"^message-id:[ \t]*(<[^<>\s]{1,400}>)", re.I | re.M)
_ANGLED_ID = re.compile(rb"<[^<>\s@]{1,200}@[^<>\s]{1,200}>")


@dataclass(frozen=True)
class Problem:
    """One recipient a report says failed or is delayed; `status` is RFC 3463 (e.g. "5.1.1"), "" when not given."""

    address: str
    action: str  # "failed" or "delayed"
    status: str = ""
    diagnostic: str = ""
    # False when a DSN block had no Action field and it was read from the status alone: not proof enough.
    stated: bool = True

    @property
    def permanent(self) -> bool:
        """A hard bounce: failed with a 5.x.x status (a 4.x.x "failed" is a retry that ran out of time)."""
        return self.stated and self.action == "failed" and self.status.startswith("5.")


@dataclass(frozen=True)
class DeliveryReport:
    problems: tuple[Problem, ...]
    standard: bool  # an RFC 3464 report (multipart/report; report-type=delivery-status) at the top


def _one_line(value: object, limit: int = 300) -> str:
    return " ".join(str(value or "").split())[:limit]


def _dsn_blocks(report: MimePart) -> Iterator[MimePart]:
    """Each per-recipient block of each delivery-status part directly inside the report."""
    for part in report.get_payload() if report.is_multipart() else ():
        if not isinstance(part, MimePart):
            continue
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            # The stdlib parses the part into one header block per paragraph; the first is per-message.
            blocks = part.get_payload()
            if isinstance(blocks, list):
                yield from (b for b in blocks if isinstance(b, MimePart))
        elif kind == "message/global-delivery-status":  # RFC 6533: the same fields, UTF-8, left as text here.
            text = part.get_payload(decode=True) or b""
            for paragraph in re.split(rb"\r?\n\s*\r?\n", text):
                yield email.message_from_bytes(paragraph.strip() + b"\n\n")


def _address(fields: dict[str, str]) -> str:
    """The address we sent to: Original-Recipient when given (Final-Recipient may be an alias's target)."""
    for name in ("original-recipient", "final-recipient", "x-actual-recipient"):
        kind, _, value = fields.get(name, "").partition(";")
        address = value.strip().strip("<>").lower()
        if kind.strip().lower().replace("/", "") in ("rfc822", "utf-8") and ADDRESS.fullmatch(address):
            return address
    return ""


def _problem(block: MimePart) -> Problem | None:
    # Some MTAs write "Final-Recipient : rfc/822;a@b": the stdlib keeps "Final-Recipient " as the name.
    fields = {name.strip().lower(): str(value) for name, value in block.items()}
    action = fields.get("action", "").lower().split()
    status = _STATUS.search(fields.get("status", ""))
    code = status.group(0) if status else ""
    if action[:1] == ["delayed"] or (not action and code.startswith("4.")):
        kind = "delayed"
    elif action[:1] in (["failed"], ["expired"]) or (not action and code.startswith("5.")):
        kind = "failed"
    else:
        return None  # delivered, relayed, expanded: no problem
    return Problem(_address(fields), kind, code, _one_line(fields.get("diagnostic-code", "")), bool(action))


def _standard(raw: bytes) -> DeliveryReport | None:
    report = email.message_from_bytes(raw, policy=email.policy.compat32)
    if report.get_content_type() != "multipart/report" or str(
            report.get_param("report-type", "")).lower() not in ("delivery-status", "global-delivery-status"):
        return None
    problems = (_problem(block) for block in _dsn_blocks(report))
    return DeliveryReport(tuple(dict.fromkeys(p for p in problems if p is not None)), True)


def _notice_text(msg: ParsedMessage) -> str:
    """The human-readable notice, without the returned message (its To: would look like a failed address)."""
    text = msg.text
    cut = re.search(r"^(-{2,}.*(original message|returned message|message headers|undelivered message).*|"
                    r"\s*original message follows.*|content-type: message/rfc822.*)$", text, re.I | re.M)
    return text[:cut.start()] if cut else text


def named_addresses(msg: ParsedMessage) -> tuple[str, ...]:
    """The addresses a plain-text bounce names as failed, best evidence first (X-Failed-Recipients, then text)."""
    found: dict[str, None] = {}
    for value in msg.header("x-failed-recipients").split(","):
        if ADDRESS.fullmatch(value.strip().lower()):
            found.setdefault(value.strip().lower())
    text = _notice_text(msg)
    ignore = {msg.from_address, *msg.recipients}
    for pattern in _NAMED:
        for match in pattern.finditer(text):
            address = match.group("a").strip(".").lower()
            if ADDRESS.fullmatch(address) and address not in ignore and not address.startswith(
                    ("postmaster@", "mailer-daemon@")):
                found.setdefault(address)
    return tuple(found)


def _text_status(msg: ParsedMessage) -> tuple[str, str]:
    """(action, status) of a plain-text bounce, from its words and codes; status "" when it gives none."""
    text = f"{msg.subject}\n{_notice_text(msg)}"
    status = _STATUS.search(text)
    code = status.group(0) if status else ""
    smtp = _SMTP_CODE.search(text)
    if code.startswith("4.") or (not code and _DELAYED.search(text) and not (smtp and smtp.group(1) == "5")):
        return "delayed", code
    if not code and ((smtp and smtp.group(1) == "5") or _PERMANENT_WORDS.search(text)):
        code = "5.0.0"  # Permanent by its words or SMTP reply, with no enhanced code given.
    return "failed", code


_FIELDS_START = re.compile(r"^[> \t]*(final|original)-recipient\s*:", re.I | re.M)


def _loose(raw: bytes) -> tuple[Problem, ...]:
    """DSN fields written where no DSN part holds them (as text, quoted, or in a report without its type)."""
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    problems: dict[Problem, None] = {}
    for paragraph in re.split(r"\n[> \t]*\n", text):
        if _FIELDS_START.search(paragraph):
            lines = "\n".join(re.sub(r"^([\w-]+)\s+:", r"\1:", line.lstrip("> \t"))
                              for line in paragraph.strip("\n").splitlines())
            if (problem := _problem(email.message_from_string(lines + "\n\n"))) is not None and problem.address:
                problems.setdefault(problem)
    return tuple(problems)


def read_report(msg: ParsedMessage, raw: bytes) -> DeliveryReport:
    """What a bounce says; a DSN is read field by field, other bounces by their usual wording."""
    standard = _standard(raw) if msg.content_type == "multipart/report" else None
    if standard is not None and any(p.address for p in standard.problems):
        return standard
    if loose := _loose(raw):
        return DeliveryReport(loose, False)
    action, status = _text_status(msg)
    text = _notice_text(msg)
    diagnostic = next((_one_line(line) for line in text.splitlines()
                       if _STATUS.search(line) or _SMTP_CODE.search(line)), "")
    problems = tuple(Problem(address, action, status, diagnostic) for address in named_addresses(msg))
    return DeliveryReport(problems or (Problem("", action, status, diagnostic),), False)


def returned_message_ids(msg: ParsedMessage, raw: bytes) -> tuple[str, ...]:
    """Message-IDs of the returned mail: Message-ID headers first, then any other <id> in the report."""
    headers = [m.decode("latin-1") for m in _MESSAGE_ID_HEADER.findall(raw)]
    others = [m.decode("latin-1") for m in _ANGLED_ID.findall(raw)]
    own = msg.message_id.lower()
    return tuple(i for i in dict.fromkeys([*headers, *others]) if i.lower() != own)
