"""The catalog: names, variants and declarations."""

from __future__ import annotations

import pytest

from gateway.templating.catalog import UnknownTemplateError, base_of, catalog, info, suffix_of


def test_variant_names_share_their_base_template() -> None:
    assert base_of("acknowledgement.beta.de") == "acknowledgement" and suffix_of("acknowledgement.beta.de") == "beta.de"
    assert base_of("agent/note.de") == "agent/note" and suffix_of("agent/note") == ""
    assert info("acknowledgement.de") is info("acknowledgement")


def test_declarations_say_who_gets_a_template_and_what_it_may_use() -> None:
    templates = catalog()
    assert templates["acknowledgement"].audience == "customers" and templates["acknowledgement"].has_subject
    assert {"customer_name", "ref", "hours", "response", "links", "articles", "incidents"} <= set(
        templates["acknowledgement"].variables)
    assert templates["notification"].audience == "agents" and not templates["notification"].has_subject
    assert set(templates["admin/breaker_tripped"].variables) >= {"address", "count", "window", "team"}
    assert all(about.strip() for t in templates.values() for about in t.variables.values())


@pytest.mark.parametrize("name", ["nope", "acknowledgement.", "acknowledgement.Beta", "acknowledgement.a.b.c",
                                  "agent/nope"])
def test_an_unknown_name_is_refused_saying_which_exist(name: str) -> None:
    with pytest.raises(UnknownTemplateError, match="templates are acknowledgement"):
        info(name)
