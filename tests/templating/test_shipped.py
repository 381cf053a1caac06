"""Every shipped template: declared, valid, renders with its samples, and reads like a partner, not a machine."""

from __future__ import annotations

import pytest

from gateway.templating.catalog import SHIPPED, base_of, catalog, shipped_variants
from gateway.templating.render import render_source
from gateway.templating.samples import sample_variable_sets, sample_variables
from gateway.templating.source import shipped
from gateway.templating.validate import validate

NAMES = [name for base in catalog() for name in (base, *shipped_variants(base))]
CUSTOMER_NAMES = [name for name in NAMES if catalog()[base_of(name)].audience == "customers"]
BANNED = ("ticket has been logged", "ticket has been created", "i'll be happy to", "i will be happy to",
          "as per our policy", "do not reply to this", "as soon as possible")


def test_every_shipped_folder_is_a_declared_template_or_a_variant_of_one() -> None:
    folders = {p.parent.relative_to(SHIPPED).as_posix() for p in SHIPPED.rglob("text.j2")}
    assert folders == set(NAMES)
    assert {"acknowledgement.beta", "acknowledgement.de", "admin/breaker_tripped"} <= folders


@pytest.mark.parametrize("name", NAMES)
def test_a_shipped_template_passes_its_own_validation(name: str) -> None:
    found = shipped(name)
    assert found is not None and validate(name, found.parts) == []


@pytest.mark.parametrize("name", NAMES)
def test_a_shipped_template_renders_every_sample_case(name: str) -> None:
    found = shipped(name)
    assert found is not None
    for case, variables in sample_variable_sets(name):
        rendered = render_source(found, variables)
        assert rendered.text.strip(), case
        assert (rendered.html != "") == (found.parts.html != ""), case
        assert "{{" not in rendered.text + rendered.html, case


@pytest.mark.parametrize("name", list(catalog()))
def test_samples_give_exactly_the_declared_variables(name: str) -> None:
    assert set(sample_variables(name)) == set(catalog()[name].variables)


@pytest.mark.parametrize("name", CUSTOMER_NAMES)
def test_customer_templates_speak_as_a_partner_not_a_ticket_machine(name: str) -> None:
    found = shipped(name)
    assert found is not None
    for _, variables in sample_variable_sets(name):
        rendered = render_source(found, variables)
        words = " ".join((rendered.subject, rendered.text, rendered.html)).lower().replace("’", "'")
        assert not [phrase for phrase in BANNED if phrase in words]


@pytest.mark.parametrize("name", CUSTOMER_NAMES)
def test_html_follows_dark_mode_and_reads_on_a_phone(name: str) -> None:
    found = shipped(name)
    assert found is not None
    html = found.parts.html
    if not html:
        pytest.skip(f"{name} has no HTML part")
    assert '<meta name="color-scheme" content="light dark">' in html
    assert 'name="viewport"' in html and "max-width" in html
    assert "<img" not in html and "background" not in html and "#fff" not in html.lower()


def test_the_acknowledgement_says_when_a_person_answers_open_or_closed() -> None:
    found = shipped("acknowledgement")
    assert found is not None
    cases = dict(sample_variable_sets("acknowledgement"))
    open_now = render_source(found, cases["open now, with links, an article and two incidents"]).text
    assert "expect a reply by about 14:30 CET today (usually within 3 hours" in open_now
    assert "reference for it is K7Q2M9XA" in open_now and "reply to this mail" in open_now
    assert "A known problem on our side: Mail delivery delays." in open_now
    assert "Planned maintenance: Database upgrade, until Saturday at 18:00 CET." in open_now
    assert "- Knowledge base: https://help.example.com/" in open_now
    weekend = render_source(found, cases["closed for the weekend, no name, nothing else to say"]).text
    assert "We're closed for the weekend, so expect a reply on Monday by about 11:00 CET." in weekend
    assert weekend.startswith("Hi there,") and "While you wait" not in weekend


def test_the_beta_variant_says_how_beta_feedback_is_handled() -> None:
    found = shipped("acknowledgement.beta")
    assert found is not None
    text = render_source(found, sample_variables("acknowledgement.beta")).text
    assert "Thank you for the beta feedback" in text and "product team reads every piece" in text
    assert "If you asked us a question" in text and "may not be able to tell you when" in text
