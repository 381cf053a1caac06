"""Language detection: answer a customer in the configured language they wrote in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lingua import ConfidenceValue, Language

from gateway.autoreply import language
from gateway.autoreply.language import check_languages, detect_language

EN_DE_FR = ("en", "de", "fr")

ENGLISH = ("Hello, since this morning none of my colleagues can open the shared project board. "
           "We get an error page saying the workspace is suspended, but our invoice was paid last week.")
GERMAN = ("Guten Tag, seit heute Morgen können meine Kollegen das gemeinsame Projektboard nicht mehr öffnen. "
          "Es erscheint eine Fehlermeldung, obwohl unsere Rechnung letzte Woche bezahlt wurde.")
FRENCH = ("Bonjour, depuis ce matin mes collègues ne peuvent plus ouvrir le tableau de projet partagé. "
          "Un message d'erreur s'affiche alors que notre facture a été payée la semaine dernière.")


@pytest.mark.parametrize(("text", "expected"), [(ENGLISH, "en"), (GERMAN, "de"), (FRENCH, "fr")],
                         ids=["english", "german", "french"])
def test_mail_is_answered_in_the_language_it_is_written_in(text: str, expected: str) -> None:
    assert detect_language(text, EN_DE_FR) == expected


def test_german_subject_and_short_request_is_german() -> None:
    assert detect_language("Passwort vergessen\nIch komme nicht mehr in mein Konto, bitte helfen Sie mir.",
                           EN_DE_FR) == "de"


@pytest.mark.parametrize("text", ["Danke!", "Merci beaucoup", "Hallo, geht's?", "", "12345 67890 !!!"])
def test_short_text_gets_the_default_language(text: str) -> None:
    assert detect_language(text, ("fr", "de", "en")) == "fr"


class TornDetector:
    """Stands in for lingua when it cannot decide between German and English."""

    def compute_language_confidence_values(self, text: str) -> list[ConfidenceValue]:
        return [ConfidenceValue(Language.GERMAN, 0.55), ConfidenceValue(Language.ENGLISH, 0.45)]


def test_unsure_detection_gets_the_default_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(language, "_detector", lambda languages: (TornDetector(), {"en": "en", "de": "de"}))
    assert detect_language("Hallo team, quick question: Rechnung for March please", ("en", "de")) == "en"


def test_a_language_that_is_not_configured_gets_a_configured_one() -> None:
    spanish = "Hola, desde esta mañana no puedo entrar en mi cuenta y necesito descargar la factura de marzo."
    assert detect_language(spanish, ("en", "de")) in ("en", "de")


def test_code_is_returned_as_configured() -> None:
    assert detect_language(GERMAN, ("en", "DE")) == "DE"


def test_single_language_never_consults_lingua(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(languages: tuple[str, ...]) -> None:
        raise AssertionError("lingua was asked")

    monkeypatch.setattr(language, "_detector", refuse)
    assert detect_language(FRENCH, ("de",)) == "de"


def test_single_language_does_not_even_import_lingua() -> None:
    code = ("import sys; from gateway.autoreply.language import detect_language; "
            f"assert detect_language({FRENCH!r}, ('en',)) == 'en'; print('lingua' in sys.modules)")
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"


def test_detector_is_built_once_per_languages_tuple() -> None:
    assert language._detector(EN_DE_FR) is language._detector(EN_DE_FR)


def test_unknown_language_code_is_one_line_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"^\[autoreply\] languages: unknown code 'english'; use ISO 639-1") as raised:
        check_languages(("de", "english"))
    assert "\n" not in str(raised.value) and " fr," in str(raised.value)


def test_known_codes_pass_in_any_case() -> None:
    check_languages(("en", "DE", "fr", "nb"))


def test_no_language_at_all_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        check_languages(())
