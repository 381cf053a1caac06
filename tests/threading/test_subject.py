"""Base subjects and the [#ref] tag: what a reply, forward or list copy of a request still has in common."""

from __future__ import annotations

import json

import pytest

from gateway.threading.subject import base_subject, ref_in_subject
from tests.helpers import CORPORA

VECTORS = CORPORA / "jwz-threading-vectors" / "jwz_threading_vectors.json"


def _jwz_cases() -> list:
    if not VECTORS.is_file():
        return [pytest.param("", "", marks=pytest.mark.skip(reason=f"jwz-threading-vectors not found at {VECTORS}"))]
    cases = json.loads(VECTORS.read_text())["base_subject_tests"]
    return [pytest.param(c["subject"], c["base_subject"], id=repr(c["subject"])) for c in cases]


@pytest.mark.parametrize(("subject", "expected"), _jwz_cases())
def test_base_subject_matches_the_jwz_vectors(subject, expected):
    assert base_subject(subject) == expected.casefold()


# (subject as clients write it, base subject)
PREFIXES = [
    ("Printer offline", "printer offline"),
    ("Re: Printer offline", "printer offline"),
    ("RE: RE: Printer offline", "printer offline"),
    ("Re:Printer offline", "printer offline"),
    ("Re: Re:  Printer   offline ", "printer offline"),
    ("RE[2]: Printer offline", "printer offline"),
    ("Re[2]: Re: Printer offline", "printer offline"),
    ("Re(2): Printer offline", "printer offline"),
    ("Fwd: Printer offline", "printer offline"),
    ("FW: Printer offline", "printer offline"),
    ("Fw: Re: Printer offline", "printer offline"),
    ("Printer offline (fwd)", "printer offline"),
    # German Outlook and Lotus Notes.
    ("AW: Drucker offline", "drucker offline"),
    ("WG: AW: Drucker offline", "drucker offline"),
    ("Antw: Drucker offline", "drucker offline"),
    ("Antwort: Drucker offline", "drucker offline"),
    # Scandinavian (SV), Finnish (VS), French (RE :, TR), Italian (R), Spanish (RV), Polish (ODP), Chinese (回复).
    ("SV: Skrivaren fungerar inte", "skrivaren fungerar inte"),
    ("VS: Tulostin ei toimi", "tulostin ei toimi"),
    ("Vs: SV: Tulostin ei toimi", "tulostin ei toimi"),
    ("RE : Imprimante hors ligne", "imprimante hors ligne"),
    ("TR: Imprimante hors ligne", "imprimante hors ligne"),
    ("R: Stampante non in linea", "stampante non in linea"),
    ("RV: Impresora sin conexión", "impresora sin conexión"),
    ("ODP: Drukarka nie działa", "drukarka nie działa"),
    ("回复：打印机离线", "打印机离线"),
    # Mailing-list tags, before or after the reply prefix.
    ("[printers-users] Firmware 4.2 breaks duplex printing", "firmware 4.2 breaks duplex printing"),
    ("Re: [printers-users] Firmware 4.2 breaks duplex printing", "firmware 4.2 breaks duplex printing"),
    ("[printers-users] Re: Firmware 4.2 breaks duplex printing", "firmware 4.2 breaks duplex printing"),
    # Our own tag, wherever the client put it.
    ("[#K7M2QX9P] Printer offline", "printer offline"),
    ("Re: Printer offline [#K7M2QX9P]", "printer offline"),
    ("AW: Re: [#K7M2QX9P] Printer offline", "printer offline"),
    ("Re: [printers-users] [#K7M2QX9P] Printer offline", "printer offline"),
    # Words that only look like prefixes stay.
    ("Automatic reply: Printer offline", "automatic reply: printer offline"),
    ("Re: Reminder: service visit", "reminder: service visit"),
    ("Return receipt for the printer", "return receipt for the printer"),
    ("Area 51: printer offline", "area 51: printer offline"),
    # Nothing left is nothing.
    ("Re:", ""),
    ("", ""),
]


@pytest.mark.parametrize(("subject", "expected"), PREFIXES, ids=[repr(c[0]) for c in PREFIXES])
def test_base_subject_drops_reply_and_forward_prefixes_list_tags_and_our_ref(subject, expected):
    assert base_subject(subject) == expected


def test_base_subject_ignores_case():
    assert base_subject("RE: PRINTER Offline") == base_subject("re: printer offline")


# (subject, the ref our [#...] tag names, or None)
REFS = [
    ("[#K7M2QX9P] Printer offline", "K7M2QX9P"),
    ("Re: Printer offline [#K7M2QX9P]", "K7M2QX9P"),
    ("AW: Re: [#k7m2qx9p] Drucker offline", "K7M2QX9P"),
    ("Automatic reply: [#ABCDEFGH] Help", "ABCDEFGH"),
    ("Re: [#K7M2QX9P] and [#ABCDEFGH]", "K7M2QX9P"),
    ("Printer offline", None),
    ("", None),
    ("Re: [#K7M2QX9] too short", None),
    ("Re: [#K7M2QX9PQ] too long", None),
    ("Re: [K7M2QX9P] without the hash", None),
    ("Re: #K7M2QX9P without brackets", None),
    # 0, 1, I, O and U are not in our alphabet, so a ticket number from another system is not ours.
    ("Re: [#K7M2QX0P] Printer", None),
    ("Re: [#K7M2QX1P] Printer", None),
    ("Re: [#KIM2QX9P] Printer", None),
    ("Re: [#KOM2QX9P] Printer", None),
    ("Re: [#KUM2QX9P] Printer", None),
    ("Re: [#12345678] Printer", None),
]


@pytest.mark.parametrize(("subject", "expected"), REFS, ids=[repr(c[0]) for c in REFS])
def test_ref_in_subject_finds_only_our_tag(subject, expected):
    assert ref_in_subject(subject) == expected
