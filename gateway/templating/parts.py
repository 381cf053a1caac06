"""A template's three parts (subject, text, HTML) and the one-file form admins edit and `set --file` reads."""

from __future__ import annotations

import re
from dataclasses import dataclass

_MARKER = re.compile(r"^#=+ (subject|text|html)\b.*$", re.MULTILINE)
MARKERS = {"subject": "#===== subject (one line) =====",
           "text": "#===== text (required) =====",
           "html": "#===== html (optional: leave empty for a text-only mail) ====="}


@dataclass(frozen=True)
class Parts:
    """The Jinja source of each part; "" means the part is absent."""

    subject: str = ""
    text: str = ""
    html: str = ""

    def normalised(self) -> Parts:
        """Trailing blank lines dropped, so saving what an editor added at the end changes nothing."""
        return Parts(self.subject.strip(), _ends_once(self.text), _ends_once(self.html))


def _ends_once(source: str) -> str:
    stripped = source.rstrip()
    return stripped + "\n" if stripped else ""


def to_file(parts: Parts, header: str = "") -> str:
    """The editable form: optional '# ' header lines, then each part under its marker line."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for key in ("subject", "text", "html"):
        lines.append(MARKERS[key])
        body = getattr(parts, key)
        lines.append(body.rstrip("\n") if body else "")
    return "\n".join(lines) + "\n"


def has_markers(content: str) -> bool:
    return _MARKER.search(content) is not None


def from_file(content: str, current: Parts | None = None) -> Parts:
    """Parts from the editable form; a file without markers is the text part, keeping `current`'s others."""
    if not has_markers(content):
        base = current or Parts()
        return Parts(base.subject, content, base.html).normalised()
    found: dict[str, str] = {}
    matches = list(_MARKER.finditer(content))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(content)
        found[match.group(1)] = content[match.end():end].removeprefix("\n")
    return Parts(found.get("subject", ""), found.get("text", ""), found.get("html", "")).normalised()
