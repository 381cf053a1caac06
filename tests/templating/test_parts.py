"""The one-file form of a template that `edit` opens and `set --file` reads."""

from __future__ import annotations

from gateway.templating.parts import Parts, from_file, to_file


def test_the_file_form_round_trips_and_ignores_its_header() -> None:
    parts = Parts("Re [#{{ ref }}]", "Hi\n\n{{ ref }}\n", "<p>{{ ref }}</p>\n")
    content = to_file(parts, "Template acknowledgement\nVariables: ref")
    assert content.startswith("# Template acknowledgement\n# Variables: ref\n#===== subject")
    assert from_file(content) == parts
    assert from_file(content.replace("<p>{{ ref }}</p>\n", "")) == Parts(parts.subject, parts.text, "")


def test_a_plain_file_is_the_text_part_and_keeps_the_others() -> None:
    current = Parts("Re [#{{ ref }}]", "old\n", "<p>old</p>\n")
    assert from_file("new {{ ref }}\n\n\n", current) == Parts(current.subject, "new {{ ref }}\n", current.html)


def test_a_jinja_line_starting_with_hashes_is_not_a_marker() -> None:
    text = "##- Reply above this line to answer the customer -##\n{{ text }}\n"
    assert from_file(to_file(Parts("", text))).text == text
