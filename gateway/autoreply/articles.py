"""Self-help for the acknowledgement: configured help links and the articles that fit a customer's mail."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.autoreply.views import LinkView
from gateway.config import SelfHelpSettings

if TYPE_CHECKING:
    import bm25s

# Title and keywords say what an article is about; the body only helps to rank, so they count this many times more.
TOPIC_WEIGHT = 3
# An article scoring below this share of the best one is noise, not a second suggestion.
RELATIVE_FLOOR = 0.3
# What the customer asks is in the first lines; a pasted 1 MB log would only cost time.
MAX_QUERY = 4000
WORD = re.compile(r"\w\w+")
# Links in an article or a mail say nothing about its topic, but "https" and "com" would match everywhere.
URL = re.compile(r"\S+://\S+|www\.\S+")


@dataclass(frozen=True)
class Article:
    """One self-help article; it is suggested only for mail containing one of its keywords (all words of it)."""

    title: str
    url: str
    keywords: tuple[str, ...] = ()
    body: str = ""


@cache
def _stopwords() -> frozenset[str]:
    """English, German and French function words: without the latter two every German mail matches every German
    article. Imported here, as bm25s (and numpy) are only needed by a gateway with articles."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_FRENCH, STOPWORDS_GERMAN

    return frozenset(STOPWORDS_EN_PLUS) | frozenset(STOPWORDS_GERMAN) | frozenset(STOPWORDS_FRENCH)


def tokenize(text: str) -> list[str]:
    """Lower-cased words of two or more letters, function words left out, English plurals folded."""
    return [_fold(word) for word in WORD.findall(URL.sub(" ", text.casefold())) if word not in _stopwords()]


def _fold(word: str) -> str:
    # Both the articles and the mail are folded, so a German or French word only loses an s on both sides.
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


class ArticleIndex:
    """A BM25 index over the articles, built once; `suggest` ranks them for one mail."""

    def __init__(self, articles: tuple[Article, ...], bm25: bm25s.BM25 | None,
                 triggers: tuple[tuple[frozenset[str], ...], ...]) -> None:
        self.articles = articles
        self._bm25 = bm25
        self._vocab: Mapping[str, int] = bm25.vocab_dict if bm25 is not None else {}
        self._triggers = triggers

    @classmethod
    def build(cls, articles: Iterable[Article]) -> ArticleIndex:
        """Index the articles, their title and keywords weighted above the body."""
        indexed = [(a, tokenize(" ".join((a.title, *a.keywords))) * TOPIC_WEIGHT + tokenize(a.body)) for a in articles]
        # An article of stop words only ("Über uns") can never match, and BM25 cannot index an empty document.
        chosen = tuple(a for a, words in indexed if words)
        corpus = [words for _, words in indexed if words]
        triggers = tuple(_triggers(article) for article in chosen)
        if not chosen:
            return cls(chosen, None, triggers)
        import bm25s

        bm25 = bm25s.BM25()
        bm25.index(corpus, show_progress=False)
        return cls(chosen, bm25, triggers)

    def suggest(self, text: str, limit: int) -> tuple[Article, ...]:
        """Up to `limit` articles about what `text` asks, best first; none when nothing fits."""
        words = set(tokenize(text[:MAX_QUERY]))
        ids = sorted(self._vocab[word] for word in words if word in self._vocab)
        if limit <= 0 or self._bm25 is None or not ids:
            return ()
        scores = self._bm25.get_scores_from_ids(ids)
        # The mail must contain one of the article's keywords (every word of it): a word that only
        # occurs in some body ("update", "new") is no reason to send a customer there.
        ranked = sorted((-float(score), article.title, i)
                        for i, (score, article) in enumerate(zip(scores, self.articles))
                        if score > 0 and any(trigger <= words for trigger in self._triggers[i]))
        if not ranked:
            return ()
        floor = -ranked[0][0] * RELATIVE_FLOOR
        return tuple(self.articles[i] for negative, _, i in ranked[:limit] if -negative >= floor)


def _triggers(article: Article) -> tuple[frozenset[str], ...]:
    """The word sets, one per keyword (or per title word when there are none), that make an article a candidate."""
    phrases = article.keywords or tuple(article.title.split())
    return tuple(trigger for trigger in (frozenset(tokenize(phrase)) for phrase in phrases) if trigger)


def load_articles(path: str) -> tuple[Article, ...]:
    """Read a folder of Markdown articles with front matter, or a .toml file of [[article]] entries."""
    if not path:
        return ()
    where = Path(path)
    if where.is_dir():
        # Editors leave hidden ".#name.md" lock files and "._name.md" copies beside the real ones.
        return tuple(_markdown_article(file) for file in sorted(where.glob("*.md")) if not file.name.startswith("."))
    if where.suffix == ".toml" and where.is_file():
        return _toml_articles(where)
    if not where.exists():
        raise ValueError(f"{where}: not found; point it at a folder of .md articles or a .toml file")
    raise ValueError(f"{where}: not a folder or a .toml file; point it at a folder of .md articles or a .toml file")


def _markdown_article(file: Path) -> Article:
    import frontmatter  # Here, with yaml: only a gateway with Markdown articles needs them.
    import yaml

    try:
        post = frontmatter.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{file}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise ValueError(f"{file}: cannot be read ({exc.strerror}); check that it exists and is readable") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"{file}: front matter is not valid YAML{where} ({problem}); "
                         "quote values that contain ':' or '#'") from None
    return _article(post.metadata, post.content, f"{file}:", "'{key}: …' between the '---' lines at the top")


def _toml_articles(file: Path) -> tuple[Article, ...]:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{file}: not valid TOML ({exc}); fix the file") from None
    except OSError as exc:
        raise ValueError(f"{file}: cannot be read ({exc.strerror}); check that it is readable") from None
    entries = data.get("article", [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ValueError(f"{file}: expected [[article]] tables with title, url and keywords")
    return tuple(_article(entry, "\n\n".join(str(entry.get(key, "")) for key in ("summary", "body")).strip(),
                          f"{file}: [[article]] #{number}:", "'{key} = \"…\"' to that entry")
                 for number, entry in enumerate(entries, start=1))


def _article(fields: Mapping[str, object], body: str, where: str, fix: str) -> Article:
    for key in ("title", "url"):
        value = fields.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where} missing '{key}'; add {fix.format(key=key)}")
    url = str(fields["url"]).strip()
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{where} url {url!r} is not a web address; write it in full, starting with https://")
    return Article(title=str(fields["title"]).strip(), url=url, keywords=_keywords(fields.get("keywords"), where),
                   body=body)


def _keywords(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        raise ValueError(f"{where} keywords must be a list or a comma-separated string, got {value!r}")
    return tuple(word for word in (str(item).strip() for item in value) if word)


# The links' titles in each language we ship an acknowledgement in; others get English.
LINK_TITLES = {"en": ("Help centre", "FAQ", "Service status"), "de": ("Hilfe-Center", "FAQ", "Systemstatus")}


def help_links(settings: SelfHelpSettings, language: str = "en") -> tuple[LinkView, ...]:
    """The configured help centre, FAQ and status page links, leaving out those not set."""
    titles = LINK_TITLES.get(language, LINK_TITLES["en"])
    links = zip(titles, (settings.knowledge_base, settings.faq, settings.status_page), strict=True)
    return tuple(LinkView(title=title, url=url.strip()) for title, url in links if url.strip())


def check_articles(settings: SelfHelpSettings) -> None:
    """Raise ValueError (one line) when [selfhelp] articles is set but missing or does not load."""
    if not settings.articles:
        return
    try:
        load_articles(settings.articles)
    except ValueError as exc:
        raise ValueError(f"[selfhelp] articles: {exc}") from None
