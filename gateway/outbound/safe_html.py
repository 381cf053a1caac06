"""What of an agent's HTML may reach a customer: its formatting, links and images; never a script, a form, a
frame or a tracking pixel."""

from __future__ import annotations

import re

import nh3
from bs4 import BeautifulSoup

# Mail clients write formatting as attributes and inline styles (Outlook: <font>, bgcolor, widths); all of it
# stays, while event handlers and anything else not listed goes.
_LOOKS = {"style", "class", "dir", "lang", "title", "align", "valign", "width", "height", "bgcolor", "color",
          "border", "cellpadding", "cellspacing", "hidden"}
_ATTRIBUTES = {"*": _LOOKS, "a": {"href", "name"}, "img": {"src", "alt"}, "font": {"face", "size"},
               "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}, "ol": {"start", "type"}}
_TAGS = nh3.ALLOWED_TAGS | {"font", "style"}
# Gone with what they hold: nh3 keeps the text of a tag it drops, and a <title> (the agents' subject, with its
# [PARTNER] or [BETA] flags) would turn into the first line the customer reads.
_GONE_WITH_CONTENT = {"script", "noscript", "iframe", "object", "template", "title"}
# cid: an image the reply carries itself; data: one written inline (for images only, below).
_SCHEMES = {"http", "https", "mailto", "tel", "cid", "data"}
_TINY = re.compile(r"^\s*[01](px)?\s*$")
_TINY_STYLE = re.compile(r"(^|;)\s*(width|height)\s*:\s*[01](px)?\s*(;|$)", re.I)


def _no_data_links(tag: str, attribute: str, value: str) -> str | None:
    # A data: link opens a page the mail itself makes up; only an image may be inline.
    return None if tag != "img" and value.strip().lower().startswith("data:") else value


def safe_html(html: str) -> str:
    """The agent's HTML with only what displays: scripts, event handlers, forms, frames and objects removed, and
    tracking pixels (1x1 images: a read receipt for whoever serves them) dropped. CSS is kept as written."""
    cleaned = nh3.clean(html, tags=_TAGS, clean_content_tags=_GONE_WITH_CONTENT, attributes=_ATTRIBUTES,
                        url_schemes=_SCHEMES, attribute_filter=_no_data_links)
    if "<img" not in cleaned:
        return cleaned
    soup = BeautifulSoup(cleaned, "html.parser")
    pixels = [img for img in soup.find_all("img") if _TINY_STYLE.search(str(img.get("style", ""))) or any(
        _TINY.match(str(img.get(size, ""))) for size in ("width", "height"))]
    for img in pixels:
        img.decompose()
    return str(soup) if pixels else cleaned
