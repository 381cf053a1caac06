"""Which of the configured languages a customer wrote in, so the acknowledgement answers in it."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lingua import LanguageDetector

# Fewer letters than this is a greeting or a subject, too little to tell German from English.
MIN_LETTERS = 20
# The winner must lead the runner-up by this much confidence, or we answer in the default language.
MARGIN = 0.2


def detect_language(text: str, languages: tuple[str, ...]) -> str:
    """The code in `languages` that `text` is written in; languages[0] when short or unsure."""
    default = languages[0]
    if len(set(code.lower() for code in languages)) == 1 or sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        return default
    detector, codes = _detector(languages)
    # The first few thousand characters say which language it is; a pasted log would only cost time.
    values = detector.compute_language_confidence_values(text[:4000])
    if not values:
        return default
    second = values[1].value if len(values) > 1 else 0.0
    if values[0].value - second < MARGIN:
        return default
    return codes.get(values[0].language.iso_code_639_1.name.lower(), default)


def check_languages(languages: tuple[str, ...]) -> None:
    """Raise ValueError (one line) unless every code is an ISO 639-1 code lingua knows."""
    if not languages:
        raise ValueError("[autoreply] languages: empty; list at least one ISO 639-1 code, e.g. [\"en\"]")
    known = _known_codes()
    unknown = [code for code in languages if code.lower() not in known]
    if unknown:
        raise ValueError(f"[autoreply] languages: unknown code {unknown[0]!r}; use ISO 639-1 codes "
                         f"such as \"en\", \"de\", \"fr\" (known: {', '.join(sorted(known))})")



def _known_codes() -> frozenset[str]:
    from lingua import Language

    return frozenset(language.iso_code_639_1.name.lower() for language in Language.all())


@cache
def _detector(languages: tuple[str, ...]) -> tuple[LanguageDetector, dict[str, str]]:
    """A lingua detector restricted to `languages`, with lingua's code → configured code; built once per tuple."""
    # lingua is imported here so a single-language gateway never loads it.
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    check_languages(languages)
    codes = {code.lower(): code for code in reversed(languages)}
    chosen = [Language.from_iso_code_639_1(IsoCode639_1.from_str(code)) for code in codes]
    return LanguageDetectorBuilder.from_languages(*chosen).build(), codes
