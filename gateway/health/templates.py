"""Doctor check of the templates: what each one renders from now (shipped files or an override) still validates."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from gateway.config import Settings
from gateway.health import Finding
from gateway.models import TemplateVersion
from gateway.store import Store
from gateway.templating.catalog import catalog, shipped_variants
from gateway.templating.source import current
from gateway.templating.validate import validate


def check_templates(settings: Settings) -> Iterator[Finding]:
    """An override saved before the declared variables changed can stop validating: find it before a customer."""
    names = {name for base in catalog() for name in (base, *shipped_variants(base))}
    store = Store.for_settings(settings)
    try:
        with store.reading() as tx:
            overridden = set(tx.exec(select(TemplateVersion.name).distinct()).all())
            sources = [current(tx, name) for name in sorted(names | overridden)]
    except SQLAlchemyError:
        # The database check says what is wrong with the store; the shipped files can still be checked.
        overridden, sources = set(), [current(None, name) for name in sorted(names)]
    finally:
        store.dispose()
    bad = 0
    for source in (s for s in sources if s is not None):
        problems = validate(source.name, source.parts)
        if problems:
            bad += 1
            yield Finding("templates", False, f"{source.name} ({source.origin}): {'; '.join(problems)}",
                          f"`gateway templates edit {source.name}`, or `gateway templates rollback {source.name} 0` "
                          "for the shipped text")
    if not bad:
        yield Finding("templates", True, f"{len(sources)} templates valid ({len(overridden)} with saved versions)")
