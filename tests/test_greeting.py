"""The name a mail greets a customer by, from the display name their client sent."""

from __future__ import annotations

import pytest

from gateway.greeting import greeting_name


@pytest.mark.parametrize(("display_name", "greeted"), [
    ("Anne Example", "Anne"), ("Anne", "Anne"), ("Example, Anne", "Anne"), ("'Anne Example'", "Anne"),
    ("  Jörg  Müller ", "Jörg"),
    ("", ""), ("   ", ""), ("anne@customer.example", ""), ("'anne@customer.example'", ""), ("Example,", "Example"),
    ("Dr. Anne Smith", "Anne"), ("Prof. Dr. Jörg Müller", "Jörg"), ("ANNE SMITH", "Anne"), ("JD Example", "JD"),
    ("info", ""), ("Support Team", ""), ("ACME Support", ""), ("Dr.", ""), ("Anne-Marie Duval", "Anne-Marie"),
])
def test_the_first_name_or_nothing_when_the_display_name_names_no_one(display_name, greeted):
    assert greeting_name(display_name) == greeted
