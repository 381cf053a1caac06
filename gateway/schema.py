"""Schema migrations with Alembic, apart from the store: the worker process never migrates, so it never loads
Alembic (11 MB of its memory)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import text

from gateway.store import Store

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate(store: Store) -> None:
    """Bring the schema to the newest revision (safe to run from several instances at once)."""
    cfg = _config()
    with store.engine.begin() as conn:
        if not store.is_sqlite:
            # Several instances may start at once; one migrates, the others wait and find it done.
            conn.execute(text("SELECT pg_advisory_xact_lock(7241001)"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(_config()).get_current_head()
