"""A self-help article drafted from a good answer: Markdown with the front matter `load_articles` reads."""

from __future__ import annotations

import re

import frontmatter

from gateway.autoreply.articles import tokenize
from gateway.threading.subject import without_refs

# "Hi Anne," above an answer and "Best regards, Alice" below it belong to the mail, not to an article.
_GREETING = re.compile(r"^\s*(hi|hello|hey|dear|good (morning|afternoon|evening)|hallo|guten tag|bonjour)"
                       r"(\s+[\w.'-]+){0,3}\s*[,!:]?\s*$", re.I)
_SIGN_OFF = re.compile(r"^\s*(best|kind regards|regards|best regards|thanks|thank you|cheers|many thanks|"
                       r"viele grüße|mit freundlichen grüßen|beste grüße|cordialement)\b[^\n]{0,30}[,!.]?\s*$", re.I)
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|fwd?|wg)\s*:\s*)+", re.I)


def slug(title: str) -> str:
    """A file and URL name from a title: lower-case words joined by hyphens."""
    return "-".join(re.findall(r"\w+", title.casefold()))[:60].strip("-") or "article"


def article_body(answer: str) -> str:
    """The answer without its greeting and sign-off."""
    lines = answer.strip().splitlines()
    if lines and _GREETING.match(lines[0]):
        lines = lines[1:]
    for index, line in enumerate(lines):
        if _SIGN_OFF.match(line):
            lines = lines[:index]
            break
    return ("\n".join(lines).strip() or answer.strip()) + "\n"


def article_title(subject: str) -> str:
    return _REPLY_PREFIX.sub("", without_refs(subject)).strip() or "Untitled answer"


def draft_article(subject: str, answer: str, tags: list[str], url: str, source: str) -> str:
    """Markdown with front matter (title, url, keywords: the tags and the subject's telling words)."""
    title = article_title(subject)
    words = list(dict.fromkeys([*tags, *tokenize(title)]))[:8]
    post = frontmatter.Post(article_body(answer), title=title, url=url, keywords=words, tags=list(tags),
                            source=source)
    return frontmatter.dumps(post, sort_keys=False) + "\n"
