"""Doctor checks of the store: it opens, and its schema is current."""

from __future__ import annotations

from collections.abc import Iterator

from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import SQLAlchemyError

from gateway.config import Settings
from gateway.health import Finding
from gateway.schema import head_revision
from gateway.store import Store


NO_DATABASE_FIX = ("run `gateway init` first, or give the config of an existing one (--config, GATEWAY_CONFIG or "
                   "GATEWAY_DATABASE_URL)")


def check_database(settings: Settings) -> Iterator[Finding]:
    """The database answers and has every migration applied."""
    store = Store.for_settings(settings)
    if (missing := store.not_created()) is not None:
        yield Finding("database", False, f"there is no database at {missing} (the checks that read it are skipped)",
                      NO_DATABASE_FIX)
        return
    try:
        with store.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        yield Finding("database", False, f"cannot open {settings.database.url}: {str(exc).splitlines()[0]}",
                      "check [database] url (or GATEWAY_DATABASE_URL) and that the server is running")
        return
    finally:
        store.dispose()
    head = head_revision()
    if current == head:
        yield Finding("database", True, f"schema at {head}")
    else:
        yield Finding("database", False, f"schema at {current or 'nothing'}, the code expects {head}",
                      "run `gateway init` on a new database, or start `gateway serve` once to migrate")
