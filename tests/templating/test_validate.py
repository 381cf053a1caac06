"""Validation on save: one line per problem, with its part and line."""

from __future__ import annotations

from gateway.templating.parts import Parts
from gateway.templating.validate import validate

SUBJECT = "{{ reply_subject }} [#{{ ref }}]"


def test_a_valid_template_has_no_problems() -> None:
    assert validate("acknowledgement", Parts(SUBJECT, "Hi {{ customer_name or 'there' }}, ref {{ ref }}\n")) == []


def test_an_undeclared_variable_is_refused_with_its_line() -> None:
    (problem,) = validate("acknowledgement", Parts(SUBJECT, "Hello,\n\nHi {{ first_name }}\n"))
    assert problem.startswith("text: line 3: 'first_name' is not a variable of acknowledgement")
    assert "customer_name" in problem


def test_a_syntax_error_is_refused_with_its_line() -> None:
    (problem,) = validate("acknowledgement", Parts(SUBJECT, "Hi\n{% if customer_name %}\nthere\n"))
    assert problem.startswith("text: line 2: Unexpected end of template") and "endif" in problem


def test_a_missing_text_part_or_subject_is_refused() -> None:
    assert validate("acknowledgement", Parts("", "  \n")) == [
        "text: missing; every template needs a text part", "subject: missing; acknowledgement needs a subject line"]


def test_a_typo_in_an_attribute_is_caught_by_rendering_the_samples() -> None:
    (problem,) = validate("acknowledgement", Parts(SUBJECT, "{% if hours.opne_now %}open{% endif %}\n"))
    assert problem.startswith("text: line 1: ") and "opne_now" in problem and "rendering the sample" in problem


def test_each_part_is_checked_and_html_too() -> None:
    problems = validate("acknowledgement", Parts("{{ nope }}", "ok\n", "<p>\n{{ ''.__class__ }}</p>"))
    assert problems[0].startswith("subject: line 1: 'nope' is not a variable")
    assert problems[1].startswith("html: line 2: ") and "unsafe" in problems[1]


def test_agent_mail_keeps_its_subject_and_its_reply_marker() -> None:
    problems = validate("notification", Parts("My subject", "{{ text }}\n"))
    assert problems[0].startswith("subject: notification has no subject part")
    assert problems[1].startswith("text: must keep the line '##- Reply above this line")


def test_a_variant_is_checked_against_its_base_declaration() -> None:
    assert validate("acknowledgement.fr", Parts(SUBJECT, "Bonjour {{ customer_name }}\n")) == []
    (problem,) = validate("acknowledgement.fr", Parts(SUBJECT, "{{ nom }}"))
    assert "'nom' is not a variable of acknowledgement" in problem
