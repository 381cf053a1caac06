"""Where a template comes from: overrides before files, variants in order, versions that only grow."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.models import TemplateVersion
from gateway.templating.catalog import UnknownTemplateError
from gateway.templating.parts import Parts
from gateway.templating.source import candidates, current, history, resolve, rollback, save, shipped, version
from gateway.templating.validate import TemplateProblemError

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SUBJECT = "{{ reply_subject }} [#{{ ref }}]"


def parts(text: str) -> Parts:
    return Parts(SUBJECT, text)


def test_lookup_order_is_channel_and_language_then_language_then_channel_then_base() -> None:
    assert candidates("acknowledgement", "Beta@Example.com", "DE") == [
        "acknowledgement.beta.de", "acknowledgement.de", "acknowledgement.beta", "acknowledgement"]
    assert candidates("acknowledgement", "beta") == ["acknowledgement.beta", "acknowledgement"]
    assert candidates("acknowledgement", language="de") == ["acknowledgement.de", "acknowledgement"]


def test_the_most_specific_existing_variant_wins(store) -> None:
    with store.transaction() as tx:
        assert resolve(tx, "acknowledgement", "beta@example.com", "de").name == "acknowledgement.de"
        assert resolve(tx, "acknowledgement", "beta@example.com", "fr").name == "acknowledgement.beta"
        assert resolve(tx, "acknowledgement", "billing@example.com", "fr").name == "acknowledgement"
        save(tx, "acknowledgement.beta.de", parts("Danke, Beta {{ ref }}\n"), now=NOW)
        found = resolve(tx, "acknowledgement", "beta@example.com", "de")
    assert found.name == "acknowledgement.beta.de" and found.version == 1
    assert resolve(None, "acknowledgement", "beta@example.com", "de").name == "acknowledgement.de", "tx None: files"


def test_an_override_beats_the_shipped_files(store) -> None:
    with store.transaction() as tx:
        save(tx, "acknowledgement", parts("Got it: {{ ref }}\n"), now=NOW, author="admin", comment="short")
        found = resolve(tx, "acknowledgement")
    assert found.parts.text == "Got it: {{ ref }}\n" and found.version == 1
    assert "database version 1" in found.origin and "by admin" in found.origin
    assert shipped("acknowledgement").parts.text != found.parts.text  # type: ignore[union-attr]


def test_rollback_saves_a_new_version_and_never_rewrites_history(store) -> None:
    with store.transaction() as tx:
        save(tx, "acknowledgement", parts("one {{ ref }}\n"), now=NOW)
        save(tx, "acknowledgement", parts("two {{ ref }}\n"), now=NOW)
        row = rollback(tx, "acknowledgement", 1, now=NOW, author="admin")
        assert row.version == 3 and row.comment == "rollback to version 1"
        assert [r.text for r in history(tx, "acknowledgement")] == ["one {{ ref }}\n", "two {{ ref }}\n",
                                                                    "one {{ ref }}\n"]
        assert current(tx, "acknowledgement").parts.text == "one {{ ref }}\n"  # type: ignore[union-attr]


def test_rollback_to_version_zero_puts_the_shipped_files_back_in_use(store) -> None:
    with store.transaction() as tx:
        save(tx, "acknowledgement", parts("one {{ ref }}\n"), now=NOW)
        row = rollback(tx, "acknowledgement", 0, now=NOW)
        found = current(tx, "acknowledgement")
        assert row.version == 2 and found is not None and found.version == 0
        assert found.parts == shipped("acknowledgement").parts  # type: ignore[union-attr]
        assert version(tx, "acknowledgement", 2) == shipped("acknowledgement")
        assert rollback(tx, "acknowledgement", 1, now=NOW).version == 3, "and forward again"


def test_a_variant_rolled_back_to_zero_falls_back_to_its_base(store) -> None:
    with store.transaction() as tx:
        save(tx, "acknowledgement.fr", parts("Bonjour {{ ref }}\n"), now=NOW)
        assert resolve(tx, "acknowledgement", language="fr").name == "acknowledgement.fr"
        rollback(tx, "acknowledgement.fr", 0, now=NOW)
        assert resolve(tx, "acknowledgement", language="fr").name == "acknowledgement"


def test_a_template_with_problems_is_never_saved(store) -> None:
    with store.transaction() as tx:
        with pytest.raises(TemplateProblemError) as refused:
            save(tx, "acknowledgement", parts("Hi {{ nmae }},\n"), now=NOW)
        assert history(tx, "acknowledgement") == []
    assert refused.value.problems == [refused.value.problems[0]] and "'nmae'" in refused.value.problems[0]


def test_rollback_checks_the_old_version_again(store) -> None:
    with store.transaction() as tx:
        # Saved before its variable was dropped from the declaration: it must not come back unchecked.
        tx.add(TemplateVersion(name="acknowledgement", version=1, subject=SUBJECT, text="{{ old_variable }}\n",
                               created_at=NOW))
        tx.flush()
        with pytest.raises(TemplateProblemError, match="'old_variable' is not a variable"):
            rollback(tx, "acknowledgement", 1, now=NOW)
        with pytest.raises(UnknownTemplateError, match="has no version 7"):
            rollback(tx, "acknowledgement", 7, now=NOW)
        assert len(history(tx, "acknowledgement")) == 1


def test_one_transaction_looks_a_template_up_once_however_many_agents_are_told(store) -> None:
    from sqlalchemy import event

    statements: list[str] = []

    def record(conn, cursor, statement, *rest) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        with store.transaction() as tx:
            for _ in range(5):
                resolve(tx, "notification")
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    assert sum("template_version" in s for s in statements) == 1
