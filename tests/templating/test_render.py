"""Rendering: sandboxed, strict about missing values, HTML escaped, and safe when an override breaks."""

from __future__ import annotations

import email
import email.policy

from datetime import UTC, datetime

import pytest
from jinja2 import UndefinedError
from jinja2.sandbox import SecurityError

from gateway.models import TemplateVersion
from gateway.outbound.compose import Addressing, compose
from gateway.templating.parts import Parts
from gateway.templating.render import Rendered, render_source, render_template
from gateway.templating.samples import sample_variables
from gateway.templating.source import Source

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ADDRESSING = Addressing(from_name="Support", from_address="support@example.com", to=("Anne", "anne@example.com"),
                        reply_to="support+x@example.com", message_id="<m@example.com>")


def override(text: str, html: str = "") -> Source:
    return Source("acknowledgement", Parts("Re [#{{ ref }}]", text, html), 1, "test")


def test_a_missing_value_raises_instead_of_rendering_hi_comma() -> None:
    with pytest.raises(UndefinedError):
        render_source(override("Hi {{ customer_name }},\n"), {"ref": "K7Q2M9XA"})
    variables = {**sample_variables("acknowledgement"), "customer_name": ""}
    text = render_template(None, "acknowledgement", variables).text
    assert text.startswith("Hi there,") and "Hi ," not in text


def test_the_html_part_escapes_a_customers_name_and_the_text_part_does_not() -> None:
    variables = {**sample_variables("acknowledgement"), "customer_name": "<script>alert(1)</script>"}
    rendered = render_template(None, "acknowledgement", variables)
    assert "<script>" not in rendered.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "Hi <script>alert(1)</script>," in rendered.text


def test_the_sandbox_refuses_python_internals() -> None:
    with pytest.raises(SecurityError):
        render_source(override("{{ ref.__class__.__mro__ }}\n"), {"ref": "K7Q2M9XA"})


def test_a_rendered_template_is_frozen_and_names_the_variant_used() -> None:
    rendered = render_template(None, "acknowledgement", sample_variables("acknowledgement.beta"), channel="beta")
    assert isinstance(rendered, Rendered) and rendered.name == "acknowledgement.beta"
    assert rendered.subject == "Re: Printer offline since the update [#K7Q2M9XA]"
    with pytest.raises(AttributeError):
        rendered.text = ""  # type: ignore[misc]


def test_an_override_that_fails_on_real_data_falls_back_to_the_shipped_files(store) -> None:
    with store.transaction() as tx:
        # Bypasses validation, as a declaration change after saving would.
        tx.add(TemplateVersion(name="acknowledgement", version=1, subject="x", text="{{ gone }}\n", created_at=NOW))
        tx.flush()
        rendered = render_template(tx, "acknowledgement", sample_variables("acknowledgement"))
    assert rendered.text.startswith("Hi Anne,")


def test_compose_sends_html_as_multipart_alternative_and_remembers_the_variant(store) -> None:
    mail = compose("acknowledgement", sample_variables("acknowledgement.de"), ADDRESSING, NOW,
                   automatic="auto-replied", language="de")
    parsed = email.message_from_bytes(mail.raw, policy=email.policy.default)
    assert mail.template == "acknowledgement.de" and parsed.get_content_type() == "multipart/alternative"
    assert "Hallo Anne" in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert 'lang="de"' in parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    with store.transaction() as tx:
        tx.add(TemplateVersion(name="agent/note", version=1, text="Note: {{ text }}\n", created_at=NOW))
        tx.flush()
        note = compose("agent/note", {"ref": "K7Q2M9XA", "author": "Alice", "text": "hi"}, ADDRESSING, NOW,
                       subject="[#K7Q2M9XA] Printer", tx=tx)
    parsed_note = email.message_from_bytes(note.raw, policy=email.policy.default)
    assert parsed_note.get_content_type() == "text/plain" and parsed_note.get_content().replace("\r\n", "\n") == "Note: hi\n"
    assert parsed_note["Subject"] == "[#K7Q2M9XA] Printer" and note.template == "agent/note"
