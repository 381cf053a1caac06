"""`conversations show` as people read a thread: each mail with quoted parts folded, notes and delivery trouble
marked, in the order things happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from gateway.agents.reply_text import extract_reply
from gateway.cli.output import STYLES, console, counted, when
from gateway.records import ConversationRecord, MessageRecord, NoteRecord

# How each kind of note reads; a kind added later (a bounce, a survey) still shows, its name made readable.
NOTE_LABELS = {"agent_note": "note", "changed": "changed", "merged": "merged", "split": "split",
               "linked": "linked", "delivery_failed": "delivery failed", "delivery_cancelled": "delivery cancelled",
               "delivery_retried": "delivery retried", "not_acknowledged": "no acknowledgement",
               "admins_not_told": "admins not told", "sender_unverified": "sender not verified"}
# Notes about mail that did not reach someone: shown as problems.
_PROBLEM_WORDS = ("fail", "bounce", "cancel", "not_", "undeliver", "reject", "unverified")
# Mail written by people; the rest (our automatic mail, machines' mail) is one line unless --full.
_WRITTEN = {("in", "customer"), ("in", "survey_rating"), ("in", "agent"), ("out", "agent_reply")}


def note_label(kind: str) -> str:
    return NOTE_LABELS.get(kind, kind.replace("_", " "))


def is_problem(kind: str) -> bool:
    return any(word in kind for word in _PROBLEM_WORDS)


@dataclass(frozen=True)
class Folded:
    text: str
    hidden: int  # lines folded away
    why: str


def fold(message: MessageRecord, full: bool) -> Folded:
    """What to show of a message's text: people's words with the quote (and signature) folded away."""
    if full:
        return Folded(message.text.strip(), 0, "")
    if (message.direction, message.kind) not in _WRITTEN:
        return Folded("", len(message.text.strip().splitlines()), "automatic mail")
    if message.kind != "customer":
        return Folded(message.text.strip(), len(message.stripped.strip().splitlines()), "quote")
    reply = extract_reply(message.text)
    hidden = len(reply.stripped.strip().splitlines())
    return Folded(reply.text.strip() or message.text.strip(), hidden if reply.text.strip() else 0,
                  reply.cut_by.replace("-", " "))


def _delivery(message: MessageRecord) -> Text:
    d = message.delivery
    if d is None:
        return Text("")
    detail = {"retrying": f" (attempt {d.attempts}, next {when(d.next_attempt_at)} UTC)", "failed": "",
              "pending": f" (next {when(d.next_attempt_at)} UTC)"}.get(d.state, "")
    error = f": {d.last_error}" if d.last_error and d.state in ("retrying", "failed", "bounced") else ""
    return Text(f"  [{d.state}{detail}{error}]", style=STYLES.get(d.state, ""))


def _message_header(message: MessageRecord) -> Text:
    arrow = "→" if message.direction == "out" else "←"
    who = message.sender if message.direction == "in" else f"to {', '.join(message.recipients) or '-'}"
    agent = f" by {message.agent}" if message.agent and message.kind == "agent_reply" else ""
    placed = f"  (placed by {message.placed_by})" if message.placed_by else ""
    kind = message.kind.replace("_", " ") + (" (delivery problem)" if message.kind == "bounce" else "")
    style = "bold" if (message.direction, message.kind) in _WRITTEN else "red" if message.kind == "bounce" else "dim"
    head = Text(f"{arrow} {when(message.time)}  #{message.id}  {kind}{agent}  {who}{placed}", style=style)
    head += _delivery(message) + Text(f"\n  Subject: {message.subject}", style="dim")
    if message.attachments:
        files = ", ".join(f"{a.get('name') or 'unnamed'} ({_size(a.get('size'))})" for a in message.attachments)
        head += Text(f"\n  Attachments: {files}", style="dim")
    return head


def _size(size: object) -> str:
    n = size if isinstance(size, int) else 0
    return f"{n / 1_000_000:.1f} MB" if n >= 1_000_000 else f"{max(1, round(n / 1000))} KB"


def print_exchange(record: ConversationRecord, full: bool) -> None:
    """The header, then every message and note in time order."""
    out = console()
    out.print(Text.assemble((record.ref, "bold"), "  ", record.subject))
    facts = [f"status {record.status}", f"priority {record.priority}",
             f"customer {record.customer}" + (" (partner)" if record.partner else ""), f"channel {record.channel}",
             f"opened {when(record.created_at)} UTC", f"assigned to {record.assignee or 'nobody'}",
             f"tags: {', '.join(record.tags) or 'none'}"]
    facts += [f"linked to {record.linked_to}"] if record.linked_to else []
    facts += [f"merged into {record.merged_into}"] if record.merged_into else []
    out.print(" · ".join(facts))
    events: list[tuple[datetime, int, MessageRecord | NoteRecord]] = [
        *((m.time, 0, m) for m in record.messages), *((n.time, 1, n) for n in record.notes)]
    for _, _, event in sorted(events, key=lambda e: (e[0], e[1])):
        out.print()
        if isinstance(event, NoteRecord):
            style = "red" if is_problem(event.kind) else "yellow"
            author = f" by {event.author}" if event.author else ""
            out.print(Text(f"■ {when(event.time)}  {note_label(event.kind).upper()} (internal){author}: ", style=style)
                      + Text(event.body))
            continue
        out.print(_message_header(event))
        shown = fold(event, full)
        if shown.text:
            out.print(Text(shown.text))
        if shown.hidden:
            out.print(Text(f"[{counted(shown.hidden, 'line')} folded: {shown.why}; --full shows them]", style="dim"))
