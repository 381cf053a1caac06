"""Separate what an agent wrote from what their mail client quoted below it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import html2text

from gateway.agents.reply_html import HtmlBody

MARKER = "##- Reply above this line to answer the customer -##"
# Compared on letters only, so quote chars, wrapping and markdown escapes cannot hide the marker.
_MARKER_LETTERS = "".join(ch for ch in MARKER.lower() if ch.isalpha())

_QUOTED = re.compile(r"[ \t]*>")
_SEPARATOR = re.compile(r"[ \t]*(?:[-_=*~][ \t]*){2,}$")
_SIGNATURE = re.compile(r"(?:--|_{2,})[ \t]*$")
_GMAIL_WRAP = re.compile(r"(\S)[ \t]*\n[ \t]*>[ \t]*:[ \t]*$", re.M)
_ORIGINAL = re.compile(
    r"[ \t>]*-{2,}[ \t]*(?:original message|forwarded message|ursprüngliche nachricht|weitergeleitete nachricht"
    r"|message d.origine|message transféré|oprindelig besked|videresendt besked|opprinnelig melding"
    r"|ursprungligt meddelande|vidarebefordrat meddelande|mensaje original|mensaje reenviado|messaggio originale"
    r"|messaggio inoltrato|mensagem original|mensagem encaminhada|oorspronkelijk bericht|doorgestuurd bericht"
    r"|alkuperäinen viesti|välitetty viesti|wiadomość oryginalna|исходное сообщение|пересылаемое сообщение)"
    r"[ \t]*-*[ \t]*:?[ \t]*$|[ \t]*begin forwarded message:[ \t]*$", re.I)

# Outlook-style header blocks ("From: … Sent: … To: … Subject: …") in the languages clients localise them to.
_FROM_KEYS = frozenset("from de von van da fra från od от lähettäjä kimden mittente remitente expéditeur feladó "
                       "odesílatel afzender absender".split())
_DATE_KEYS = frozenset("sent date gesendet datum envoyé verzonden inviato data enviado fecha dato sendt skickat "
                       "wysłane отправлено дата lähetetty päivämäärä tarih gönderildi odesláno".split()) | {
                       "envoyé le", "message du", "sent on"}
_OTHER_KEYS = frozenset("to subject cc bcc reply-to an betreff aan onderwerp a oggetto objet à sujet para asunto "
                        "assunto til emne till ämne do temat кому тема копия vastaanottaja aihe kime konu komu "
                        "předmět címzett tárgy kopie kopi".split()) | {"copie à"}
_HEADER = re.compile(r"[ \t]*\*{0,2}([^\W\d_][\w .'-]{0,14}?)\*{0,2}[ \t\u00a0]*[:：]")

# "On … wrote:" and its translations; a window of up to three lines must end with one of these.
_VERB_END = re.compile(
    r"(?:\bwrote|\ba\s+écrit|\bescribió|\bha\s+scritto|\bescreveu|\bkirjoitti|\bnapisał(?:a|\(a\))?"
    r"|\bnapsal(?:a|\(a\))?|\bírta|\byazdı|\ba\s+scris|\bпишет|\bнаписал(?:а|\(а\))?|έγραψε|写道)\s*[:：]?$"
    r"|\b(?:schrieb|schreef|skrev)\b.*[:：]$", re.I)
_OPENER = re.compile(r"(?:On|Am|Le|El|Il|In data|Em|Op|Den|Dne|W dniu|Dnia)\s")
_DATEISH = re.compile(r"\d{1,2}[:.h]\d{2}|\b(?:19|20)\d{2}\b")
# A date line ending in the quoted address: '30.09.2017, 18.30, "John" <john@example.com>:'.
_ADDRESS_END = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+[ \t]*[>)\]]*[ \t]*[:：]$")
_MAX_ATTRIBUTION = 600

# Footers that mail apps add under the reply; the quote often follows them without any header.
_FOOTER = re.compile(
    r"[ \t]*(?:(?:Sent|Envoyé|Enviado|Inviato|Verstuurd|Gesendet|Skickat|Sendt|Lähetetty|Отправлено|Wysłane)"
    r"[ \t]+(?:from|with|via|de|depuis|à partir de|desde|do|da|dal|vanaf|met|von|mit|från|fra|med|z|с|из)[ \t]+"
    r"(?:(?:my|mon|ma|mi|meu|mio|mia|mijn|min|mitt|mein|meinem|moim|mojego|моего|a|an|the)[ \t]+\S|[A-Z0-9])"
    r"|(?:Get|Obtenir|Scarica|Descargar|Baixe|Hämta|Hent)[ \t]+Outlook[ \t]|Von meinem[ \t])"
    r"[^,;:!?<>()\n]{0,60}(?:<[^<>\n]*>|\(https?://[^()\n]*\))?[ \t]*$")


@dataclass(frozen=True)
class ReplyText:
    """What the person wrote, and what was cut from it and why."""

    text: str  # what the person wrote, plain text, without surrounding blank lines
    html: str  # the same cut applied to the HTML body; "" when the mail had no HTML
    stripped: str  # the plain text that was removed (quote, signature), so a bad cut can be seen and undone
    cut_by: str  # "marker", "quote-header", "quote-block", "signature", "html-quote" or "none"


@dataclass(frozen=True)
class Cut:
    """Every line from `end` on is quoted, and so are the `removed` lines before it."""

    end: int
    removed: frozenset[int]
    first: int | None  # the earliest line removed, None when nothing was
    reason: str


def extract_reply(text: str, html: str = "") -> ReplyText:
    """Keep only what the sender wrote above the quote, in the plain and the HTML body."""
    kept_html = cut_html = ""
    stripped_html = ""
    if html.strip():
        body = HtmlBody(html)
        cut = plan_cut([line.text for line in body.lines], [line.quoted for line in body.lines],
                       [line.hard for line in body.lines])
        kept_html = body.cut(cut.removed, cut.end)
        from_html = cut.first is not None and body.lines[cut.first].from_html
        cut_html = "html-quote" if from_html and cut.reason != "marker" else cut.reason
        stripped_html = _join([line.text for line in body.lines], _removed_lines(cut, len(body.lines)))
    if not text.strip():
        if not html.strip():
            return ReplyText("", "", "", "none")
        return ReplyText(_html_to_text(kept_html) if kept_html else "", kept_html, stripped_html, cut_html)
    lines = _GMAIL_WRAP.sub(r"\1 >:", text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    cut = plan_cut(lines, [bool(_QUOTED.match(line)) for line in lines])
    removed = _removed_lines(cut, len(lines))
    kept = [i not in removed for i in range(len(lines))]
    return ReplyText(_render(lines, kept), kept_html, _join(lines, removed), cut.reason)


def plan_cut(lines: Sequence[str], quoted: Sequence[bool], hard: Sequence[bool] | None = None) -> Cut:
    """Decide which lines are quote or signature; rules are tried in order of trust."""
    marker = _find_marker(lines)
    limit = len(lines) if marker is None else marker
    end, reason = _hard_cut(lines, quoted, hard, limit)
    blocks = _quote_blocks(lines, quoted, end)
    removed = dict(blocks)
    signature = _signature_start(lines, removed, end)
    if signature is not None:
        removed.update((i, "signature") for i in range(signature, end) if i not in removed)
    first = min(removed, default=None)
    if end < len(lines) and (first is None or end < first):
        first = end
    elif first is not None:
        reason = removed[first]
    return Cut(end, frozenset(removed), first, "marker" if marker is not None else reason)


def _find_marker(lines: Sequence[str]) -> int | None:
    """The line where our marker starts, even when quoted or wrapped over up to three lines."""
    letters = [_letters(line) for line in lines]
    for i, here in enumerate(letters):
        if _MARKER_LETTERS in here:
            return i
        joined = here
        for later in letters[i + 1:i + 3]:
            joined += later
            found = joined.find(_MARKER_LETTERS)
            if 0 <= found < len(here):
                return i
    return None


def _letters(line: str) -> str:
    # Only a short line can hold part of the marker after wrapping; a long one is checked whole.
    return "".join(ch for ch in line.lower() if ch.isalpha()) if len(line) < 400 or "reply" in line.lower() else ""


def _hard_cut(lines: Sequence[str], quoted: Sequence[bool], hard: Sequence[bool] | None,
              limit: int) -> tuple[int, str]:
    """The first line from which everything is quote: a header, an unquoted attribution, a footer."""
    for i in range(limit):
        if hard is not None and hard[i]:
            return _walk_back(lines, i), "html-quote"
        line = lines[i]
        if quoted[i] or not line.strip():
            continue
        if _ORIGINAL.match(line) or _header_block_at(lines, quoted, i, limit):
            return _walk_back(lines, i), "quote-header"
        if _FOOTER.match(line):
            return i, "signature"
        start = _attribution_start(lines, quoted, i)
        if start is not None:
            after = next((j for j in range(i + 1, limit) if lines[j].strip()), limit)
            if after == limit or not quoted[after]:
                return _walk_back(lines, start), "quote-header"
    return limit, "none"


def _walk_back(lines: Sequence[str], i: int) -> int:
    """Include the blank and separator lines (----, ____) just above a quote header."""
    while i > 0 and (not lines[i - 1].strip() or _SEPARATOR.match(lines[i - 1]) or _ORIGINAL.match(lines[i - 1])):
        i -= 1
    return i


def _header_key(line: str) -> str:
    match = _HEADER.match(line)
    return match[1].strip().lower() if match else ""


def _header_block_at(lines: Sequence[str], quoted: Sequence[bool], i: int, limit: int) -> bool:
    """True when line i starts a block of mail headers (From plus a date, or three headers)."""
    keys: set[str] = set()
    for j in range(i, min(i + 8, limit)):
        if not lines[j].strip() or quoted[j]:
            break
        key = _header_key(lines[j])
        if key in _FROM_KEYS or key in _DATE_KEYS or key in _OTHER_KEYS:
            keys.add(key)
        elif j == i:
            return False
    return bool(keys & _FROM_KEYS) and (len(keys) >= 3 or bool(keys & _DATE_KEYS))


def _attribution_start(lines: Sequence[str], quoted: Sequence[bool], end: int) -> int | None:
    """Where an "On … wrote:" line ending at `end` begins (clients wrap it over up to three lines)."""
    tail = lines[end].rstrip()[-40:]
    if not tail or not (tail[-1] in ":：" or tail.endswith("-") or tail.lower().endswith("wrote")):
        return None
    best: tuple[int, int] | None = None
    for start in range(end, max(end - 3, -1), -1):
        if not lines[start].strip() or quoted[start]:
            break
        window = " ".join(line.strip() for line in lines[start:end + 1])
        if len(window) > _MAX_ATTRIBUTION:
            break
        if _is_attribution(window):
            first = lines[start].strip()
            score = 2 if _OPENER.match(first) else 1 if _DATEISH.search(first) else 0
            if best is None or score > best[0]:
                best = (score, start)
    return None if best is None else best[1]


def _is_attribution(window: str) -> bool:
    """An attribution names a date or an address and ends with "wrote:" (or says it in another way)."""
    text = window.strip(" \t-*_")
    tail = text[-160:]
    if _VERB_END.search(tail):
        return bool(_OPENER.match(text) or _DATEISH.search(text) or "@" in text)
    return bool(_ADDRESS_END.search(tail) and _DATEISH.search(text))


def _quote_blocks(lines: Sequence[str], quoted: Sequence[bool], end: int) -> dict[int, str]:
    """Lines of ">" quotes above `end` with their attribution; text written between them is kept."""
    removed: dict[int, str] = {}
    i = 0
    while i < end:
        if not quoted[i]:
            i += 1
            continue
        last = _block_end(lines, quoted, i, end)
        reason = "quote-block"
        start = i
        above = i - 1
        while above >= 0 and not lines[above].strip() and above not in removed:
            above -= 1
        attribution = _attribution_start(lines, quoted, above) if above >= 0 and above not in removed else None
        if attribution is not None:
            start, reason = attribution, "quote-header"
        removed.update((j, reason) for j in range(start, last + 1))
        i = last + 1
    return removed


def _block_end(lines: Sequence[str], quoted: Sequence[bool], i: int, end: int) -> int:
    """The last line of the quote starting at i, taking in blank lines and wrapped quote lines."""
    last = j = i
    while j + 1 < end:
        j += 1
        if quoted[j] or not lines[j].strip():
            last = j if quoted[j] else last
            continue
        # A client that wraps quoted text leaves a line or two without ">" right between quoted ones.
        k = j
        while j == last + 1 and k < min(j + 2, end) and not quoted[k] and lines[k].strip():
            k += 1
        if j != last + 1 or k >= end or not quoted[k]:
            break
        last = j = k
    return last


def _signature_start(lines: Sequence[str], removed: dict[int, str], end: int) -> int | None:
    """The first "-- " (or "__" list footer) line followed by a short signature before `end`."""
    for i in range(end):
        if i in removed or not _SIGNATURE.match(lines[i]):
            continue
        after = sum(1 for j in range(i + 1, end) if j not in removed and lines[j].strip())
        if after <= (12 if lines[i].startswith("-") else 6):
            return i
    return None


def _removed_lines(cut: Cut, count: int) -> frozenset[int]:
    return cut.removed | frozenset(range(cut.end, count))


def _render(lines: Sequence[str], kept: Sequence[bool]) -> str:
    """Join the kept lines; where a quote was taken out, two blank lines become one."""
    out: list[str] = []
    after_gap = False
    for line, keep in zip(lines, kept):
        if not keep:
            after_gap = bool(out)
            continue
        line = line.rstrip()
        if after_gap and not line and out and not out[-1]:
            continue
        out.append(line)
        after_gap = after_gap and not line
    return "\n".join(out).strip("\n")


def _join(lines: Sequence[str], removed: frozenset[int]) -> str:
    return "\n".join(lines[i] for i in sorted(removed)).strip("\n")


def _html_to_text(html: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    return converter.handle(html).strip()
