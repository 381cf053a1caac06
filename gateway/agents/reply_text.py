"""Separate what an agent wrote from what their mail client quoted below it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import html2text

from gateway.agents.reply_html import HtmlBody

MARKER = "##- Reply above this line to answer the customer -##"
# Compared on letters only, so quote chars, wrapping and markdown escapes cannot hide the marker.
_NOT_LETTER = re.compile(r"[^a-z]+")
_MARKER_LETTERS = _NOT_LETTER.sub("", MARKER.lower())

_QUOTED = re.compile(r"[ \t]*>")
_BLANK_RUNS = re.compile(r"\n{3,}")
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
    r"|\bnapsal(?:a|\(a\))?|\bírta|\byazdı|\ba\s+scris|\bпишет|\bнаписал(?:а|\(а\))?|έγραψε|写道)\s*[:：]?$", re.I)
# German, Dutch and Scandinavian clients put the name after the verb: "Am … schrieb Anne <a@b.example>:".
_NAMED_VERB_HINT = re.compile(r"schrieb|schreef|skrev", re.I)
_NAMED_VERB_END = re.compile(r"\b(?:schrieb|schreef|skrev)\b[^:：]*[:：]$", re.I)
_OPENER = re.compile(r"(?:On|Am|Le|El|Il|In data|Em|Op|Den|Dne|W dniu|Dnia)\s")
_SIGNAL = re.compile(r"[\d@]")
_DATEISH = re.compile(r"\d{1,2}[:.h]\d{2}|\b(?:19|20)\d{2}\b")
# Some clients write no verb, only a date and the address: '30.09.2017, 18.30, "John" <john@example.com>:'.
_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DOMAIN = re.compile(r"[\w-]+(?:\.[\w-]+)+")
_MAX_ATTRIBUTION = 600
_MAY_END_ATTRIBUTION = re.compile(r"(?:[:：]|wrote[ \t-]*)$", re.I)

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
class _Cut:
    """Every line from `end` on is quoted, and so are the `removed` lines before it."""

    end: int
    removed: frozenset[int]
    reason: str  # the rule that removed the earliest line, "none" when nothing was removed


def extract_reply(text: str, html: str = "") -> ReplyText:
    """Keep only what the sender wrote above the quote, in the plain and the HTML body."""
    from_html = _reply_in_html(html) if html.strip() else None
    if text.strip():
        return replace(_reply_in_text(text), html=from_html.html if from_html else "")
    return from_html or ReplyText("", "", "", "none")


def _reply_in_text(text: str) -> ReplyText:
    lines = _GMAIL_WRAP.sub(r"\1 >:", text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    cut = _plan_cut(lines, [bool(_QUOTED.match(line)) for line in lines])
    removed = _removed_lines(cut, len(lines))
    return ReplyText(_render(lines, removed), "", _join(lines, removed), cut.reason)


def _reply_in_html(html: str) -> ReplyText:
    """The same rules on the lines of the HTML body, plus the quote containers mail clients mark."""
    body = HtmlBody(html)
    lines = [line.text for line in body.lines]
    cut = _plan_cut(lines, [line.quoted or bool(_QUOTED.match(line.text)) for line in body.lines],
                   [line.hard for line in body.lines])
    kept = body.cut(cut.removed, cut.end)
    removed = _removed_lines(cut, len(lines))
    # Which rule cut is told by the first removed line with words (an <hr> reads as a line of "_").
    first = next((i for i in sorted(removed) if lines[i].strip()), None)
    by_markup = first is not None and body.lines[first].from_html and cut.reason != "marker"
    return ReplyText(_html_to_text(kept) if kept else "", kept, _join(lines, removed),
                     "html-quote" if by_markup else cut.reason)


def _plan_cut(lines: Sequence[str], quoted: Sequence[bool], hard: Sequence[bool] | None = None) -> _Cut:
    """Decide which lines are quote or signature; rules are tried in order of trust."""
    marker = _find_marker(lines)
    limit = len(lines) if marker is None else marker
    end, reason = _hard_cut(lines, quoted, hard, limit)
    blocks = _quote_blocks(lines, quoted, end)
    removed = dict(blocks)
    signature = _signature_start(lines, removed, end)
    if signature is not None:
        removed.update((i, "signature") for i in range(signature, end) if i not in removed)
    first = min(removed, default=end)
    if first < end:
        reason = removed[first]
    return _Cut(end, frozenset(removed), "marker" if marker is not None else reason)


def _find_marker(lines: Sequence[str]) -> int | None:
    """The line where our marker starts, even when quoted or wrapped over up to three lines."""
    if _MARKER_LETTERS not in _letters("".join(lines)):
        return None
    letters = [_letters(line) for line in lines]
    for i, here in enumerate(letters):
        joined = here
        for later in ("", *letters[i + 1:i + 3]):
            joined += later
            found = joined.find(_MARKER_LETTERS)
            if 0 <= found < len(here):
                return i
    return None


def _letters(text: str) -> str:
    return _NOT_LETTER.sub("", text.lower())


def _hard_cut(lines: Sequence[str], quoted: Sequence[bool], hard: Sequence[bool] | None,
              limit: int) -> tuple[int, str]:
    """The first line from which everything is quote: a header, an unquoted attribution, a footer."""
    for i in range(limit):
        if hard is not None and hard[i]:
            return _walk_back(lines, i), "html-quote"
        line = lines[i]
        # Headers, attributions and footers are short; skipping long lines keeps the cost linear.
        if quoted[i] or not line.strip() or len(line) > _MAX_ATTRIBUTION:
            continue
        if _ORIGINAL.match(line) or (_HEADER.match(line) and _header_block_at(lines, quoted, i, limit)):
            return _walk_back(lines, i), "quote-header"
        if _FOOTER.match(line):
            return i, "signature"
        if not _MAY_END_ATTRIBUTION.search(line[-40:]):
            continue
        after = next((j for j in range(i + 1, limit) if lines[j].strip()), limit)
        if after < limit and quoted[after]:
            continue  # The attribution of a ">" quote: _quote_blocks removes the two together.
        # Right above our marker, a line only has to look like an attribution, not prove it.
        start = _attribution_start(lines, quoted, i, loose=after == limit < len(lines))
        if start is not None:
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
        # "From: 9:00 / To: 17:00" are opening hours, not a sender.
        if key in _FROM_KEYS and lines[j].split(":", 1)[-1].strip()[:1].isdigit():
            return False
        if key in _FROM_KEYS or key in _DATE_KEYS or key in _OTHER_KEYS:
            keys.add(key)
        elif j == i:
            return False
    return bool(keys & _FROM_KEYS) and (len(keys) >= 3 or bool(keys & _DATE_KEYS))


def _attribution_start(lines: Sequence[str], quoted: Sequence[bool], end: int, loose: bool = False) -> int | None:
    """Where an "On … wrote:" line ending at `end` begins (clients wrap it over up to three lines)."""
    if not _MAY_END_ATTRIBUTION.search(lines[end][-40:]):
        return None
    best: tuple[int, int] | None = None
    for start in range(end, max(end - 3, -1), -1):
        if not lines[start].strip() or quoted[start]:
            break
        window = " ".join(line.strip() for line in lines[start:end + 1])
        if len(window) > _MAX_ATTRIBUTION:
            break
        if _is_attribution(window, loose):
            first = lines[start].strip()
            score = 2 if _OPENER.match(first) else 1 if _DATEISH.search(first) else 0
            if best is None or score > best[0]:
                best = (score, start)
    return None if best is None else best[1]


def _is_attribution(window: str, loose: bool = False) -> bool:
    """An attribution ends with "wrote:" (or its translation) and names a date or an address.

    Loose, for a line right above a quote: "Anne wrote:" is enough, and a line without a verb needs
    a date and an address anywhere rather than the address at its end.
    """
    text = window.strip(" \t-*_")
    if not (loose or _SIGNAL.search(text)):
        return False
    tail = text[-160:]
    if _VERB_END.search(text[-24:]) or (_NAMED_VERB_HINT.search(tail) and _NAMED_VERB_END.search(tail)):
        return loose or bool(_SIGNAL.search(text))
    if not text.endswith((":", "：")) or not _DATEISH.search(text):
        return False
    return _has_address(text) if loose else _ends_with_address(text[:-1])


def _ends_with_address(text: str) -> bool:
    words = text.rstrip(" \t>)]\"'").split()
    return bool(words) and _ADDRESS.fullmatch(words[-1].lstrip("<([\"'")) is not None


def _has_address(text: str) -> bool:
    # Looks around each "@" rather than searching a pattern, which would backtrack on long words.
    at = text.find("@")
    while at != -1:
        if at > 0 and (text[at - 1].isalnum() or text[at - 1] in "._+-") and _DOMAIN.match(text, at + 1):
            return True
        at = text.find("@", at + 1)
    return False


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
        attribution = (_attribution_start(lines, quoted, above, loose=True)
                       if above >= 0 and above not in removed else None)
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
    after = 0  # kept, non-blank lines below the line looked at
    found = None
    for i in range(end - 1, -1, -1):
        if i in removed:
            continue
        if _SIGNATURE.match(lines[i]) and after <= (12 if lines[i].startswith("-") else 6):
            found = i
        after += bool(lines[i].strip())
    return found


def _removed_lines(cut: _Cut, count: int) -> frozenset[int]:
    return cut.removed | frozenset(range(cut.end, count))


def _render(lines: Sequence[str], removed: frozenset[int]) -> str:
    """Join the kept lines; where a quote was taken out, two blank lines become one."""
    out: list[str] = []
    after_gap = False
    for index, line in enumerate(lines):
        if index in removed:
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
    # A layout table would come out as markdown table rules ("---"), which a customer should not see.
    converter.ignore_tables = True
    lines = [line.rstrip() for line in converter.handle(html).split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")
