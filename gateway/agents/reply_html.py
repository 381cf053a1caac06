"""Read an HTML body as lines the reply rules can judge, then cut the judged lines out of the document."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PageElement, PreformattedString, Script, Stylesheet, TemplateString

_BLOCK = frozenset("address article aside blockquote center dd div dl dt fieldset figure footer form h1 h2 h3 h4 "
                   "h5 h6 header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split())
_SKIP = frozenset("head style script title template xml".split())
_TOP = frozenset(("html", "body", "[document]"))
# Containers that hold exactly the quote: what follows them may be the sender's own text again.
_QUOTE_CLASSES = frozenset(("gmail_quote", "gmail_attr", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote"))
# Outlook's header blocks and markers: the quoted message follows them as siblings, so from the
# first of them on, everything goes.
_HARD_IDS = frozenset(("divrplyfwdmsg", "appendonsend", "olk_src_body_section"))
_SEPARATOR_STYLE = re.compile(r"border-top:\s*solid\s+#(?:e1e1e1|b5c4df)", re.I)
# bs4's html.parser builder remembers every unclosed <br> in a list it scans at each end tag, which is
# quadratic in a long mail; written as <br/> the same element is not remembered.
_VOID = re.compile(r"<(area|base|br|col|embed|hr|img|input|link|meta|source|track|wbr)\b"
                   r"((?:[^<>\"'/]|\"[^\"]*\"|'[^']*'|/(?!>))*)>", re.I)
_NO_BORDER = re.compile(r"border:\s*none", re.I)
_SPACE = re.compile(r"\s+")
_INVISIBLE = (PreformattedString, Script, Stylesheet, TemplateString)
# How an <hr> reads, so the plain-text rules see a separator line above a header block.
_RULE = "_" * 32


@dataclass
class HtmlLine:
    """One line of rendered text and the nodes that make it up."""

    text: str = ""
    quoted: bool = False  # inside a blockquote or a client's quote container
    hard: bool = False  # at or after a container from which everything is quote (Outlook's header divs)
    from_html: bool = False  # judged by its markup (container or <hr>), not only by its words
    image: bool = False
    nodes: list[PageElement] = field(default_factory=list)


class HtmlBody:
    """A parsed HTML body, its lines, and the operation that removes some of them."""

    def __init__(self, html: str) -> None:
        self.soup = BeautifulSoup(_VOID.sub(r"<\1\2/>", html), "html.parser")
        _split_preformatted(self.soup)
        self.lines = _Reader().read(self.soup)

    def cut(self, removed: frozenset[int], end: int) -> str:
        """Remove lines `removed` and everything from line `end` on; return what is left as HTML."""
        shown = _shown(self.soup)
        doomed: list[PageElement] = []
        if end < len(self.lines) and self.lines[end].nodes:
            doomed.extend(_from(self.lines[end].nodes[0], shown))
        for index in sorted(i for i in removed if i < end):
            doomed.extend(self.lines[index].nodes)
        touched = _ancestors(doomed)
        _extract(doomed)
        shown = _shown(self.soup)
        # Containers that held only what was cut go too; empty ones the sender wrote stay.
        _extract([element for element in touched if id(element) not in shown and element.name not in _TOP
                  and element.name != "img"])
        return str(self.soup) if id(self.soup) in shown else ""


def _kind(tag: Tag) -> tuple[bool, bool]:
    """(quote container, hard container) for one element."""
    classes = {c.lower() for c in tag.get("class") or ()}
    style = str(tag.get("style") or "")
    # Gmail and Apple Mail indent with a borderless blockquote; that is the sender's own text.
    quote = (tag.name == "blockquote" and not _NO_BORDER.search(style)) or bool(classes & _QUOTE_CLASSES)
    hard = str(tag.get("id") or "").lower() in _HARD_IDS or (tag.name == "div" and bool(_SEPARATOR_STYLE.search(style)))
    return quote, hard


class _Reader:
    """Walks the tree without recursion (mail can nest thousands deep) and collects lines."""

    def __init__(self) -> None:
        self.lines: list[HtmlLine] = []
        self.current = HtmlLine()
        self.quote = self.pre = 0
        self.hard = False

    def read(self, soup: BeautifulSoup) -> list[HtmlLine]:
        stack: list[tuple[PageElement, bool]] = [(soup, False)]
        while stack:
            node, leaving = stack.pop()
            if isinstance(node, Tag):
                self._tag(node, leaving, stack)
            elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
                self._text(node)
        self._flush()
        return self.lines

    def _tag(self, tag: Tag, leaving: bool, stack: list[tuple[PageElement, bool]]) -> None:
        if tag.name in _SKIP:
            return
        quote, hard = _kind(tag)
        if leaving:
            self.quote -= quote
            self.pre -= tag.name == "pre"
            if tag.name in _BLOCK:
                self._flush()
            return
        if tag.name == "br":
            self.current.nodes.append(tag)
            self._flush(blank=True)
            return
        if tag.name in _BLOCK:
            self._flush()
        self.quote += quote
        self.hard = self.hard or hard
        self.pre += tag.name == "pre"
        if tag.name == "hr":
            self._start(_RULE, tag)
            self.current.from_html = True
        elif tag.name == "img":
            self._start("", tag)
            self.current.image = True
        stack.append((tag, True))
        stack.extend((child, False) for child in reversed(tag.contents))

    def _text(self, node: NavigableString) -> None:
        if self.pre:
            # _split_preformatted left one line per node; a trailing newline ends the line.
            text = str(node).rstrip("\n")
            if text.strip():
                self._start(text, node)
            else:
                self.current.nodes.append(node)
            if str(node).endswith("\n"):
                self._flush(blank=True)
            return
        text = _SPACE.sub(" ", str(node))
        if not text.strip():
            if self.current.text:
                self.current.text += " "
            return
        self._start(text if self.current.text else text.lstrip(), node)

    def _start(self, text: str, node: PageElement) -> None:
        line = self.current
        if not line.nodes or not line.text:
            line.quoted = line.quoted or self.quote > 0
            line.hard = line.hard or self.hard
            line.from_html = line.from_html or line.quoted or line.hard
        line.text += text
        line.nodes.append(node)

    def _flush(self, blank: bool = False) -> None:
        line = self.current
        if line.text.strip() or line.image or blank:
            line.text = line.text.strip()
            line.quoted = line.quoted or self.quote > 0
            self.lines.append(line)
            self.current = HtmlLine()


def _split_preformatted(soup: BeautifulSoup) -> None:
    """Give each line of a <pre> its own text node, so a cut between two lines can be made."""
    for pre in soup.find_all("pre"):
        for node in list(pre.find_all(string=True)):
            if isinstance(node, PreformattedString) or "\n" not in node.rstrip("\n"):
                continue
            parts = [part for part in re.split(r"(?<=\n)", str(node)) if part]
            node.replace_with(*(NavigableString(part) for part in parts))


def _shown(soup: BeautifulSoup) -> set[int]:
    """The ids of the nodes that show something: text other than whitespace, or an image, inside them."""
    shown: set[int] = set()
    for node in soup.descendants:
        visible = (node.name == "img") if isinstance(node, Tag) else (
            isinstance(node, NavigableString) and not isinstance(node, _INVISIBLE) and bool(node.strip()))
        parent: PageElement | None = node if visible else None
        while parent is not None and id(parent) not in shown:
            shown.add(id(parent))
            parent = parent.parent
    return shown


def _from(node: PageElement, shown: set[int]) -> list[PageElement]:
    """`node` and everything after it in document order, as the fewest whole elements."""
    # Start at the outermost element that begins with this node, so no empty shell is left behind.
    while (node.parent is not None and node.parent.name not in _TOP
           and not any(id(sibling) in shown for sibling in node.previous_siblings)):
        node = node.parent
    found: list[PageElement] = [node]
    current: PageElement = node
    while current.parent is not None:
        found.extend(current.next_siblings)
        current = current.parent
    return found


def _ancestors(nodes: list[PageElement]) -> list[Tag]:
    seen: set[int] = set()
    found: list[Tag] = []
    for node in nodes:
        parent = node.parent
        while parent is not None and id(parent) not in seen:
            seen.add(id(parent))
            found.append(parent)
            parent = parent.parent
    return found


def _extract(nodes: list[PageElement]) -> None:
    """Take nodes out of the tree; bs4 finds each one's index by a scan, so give it the index."""
    doomed = {id(node) for node in nodes}
    parents: dict[int, Tag] = {}
    for node in nodes:
        if node.parent is not None and id(node.parent) not in doomed:
            parents[id(node.parent)] = node.parent
    for parent in parents.values():
        for index in range(len(parent.contents) - 1, -1, -1):
            if id(parent.contents[index]) in doomed:
                parent.contents[index].extract(_self_index=index)
