"""Doctor check of the space left where the store keeps every mail it ever accepted."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway.config import Settings
from gateway.health import Finding
from gateway.store import Store

GIB = 1024**3
# Below these the store may soon refuse mail (SMTP then answers 451, so senders retry, but nothing new arrives).
FAIL_BELOW, WARN_BELOW = 1 * GIB, 5 * GIB
FIX = "free space on that disk or move the store to a bigger one ([database] url)"


def _judge(free: int, where: str, size: str) -> Finding:
    detail = f"{free / GIB:.1f} GiB free for {where}{size}"
    if free < FAIL_BELOW:
        return Finding("disk", False, detail, FIX)
    if free < WARN_BELOW:
        return Finding("disk", True, detail, FIX, warning=True)
    return Finding("disk", True, detail)


def check_disk(settings: Settings) -> Iterator[Finding]:
    """SQLite: the database file's disk. PostgreSQL: the server's data directory when it is on this machine."""
    store = Store.for_settings(settings)
    try:
        if store.is_sqlite:
            path = Path(store.engine.url.database or "gateway.db").resolve()
            size = f" (the database is {path.stat().st_size / 1024**2:.0f} MB)" if path.exists() else ""
            yield _judge(shutil.disk_usage(path.parent).free, str(path.parent), size)
            return
        with store.engine.connect() as conn:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            try:
                folder = conn.execute(text("SHOW data_directory")).scalar_one()
            except SQLAlchemyError:
                folder = None
    except SQLAlchemyError:
        return  # The database check already says the store cannot be opened.
    finally:
        store.dispose()
    if folder and Path(folder).is_dir():
        yield _judge(shutil.disk_usage(folder).free, f"PostgreSQL's data in {folder}", f" (the database is "
                     f"{size / 1024**2:.0f} MB)")
    else:
        yield Finding("disk", True, f"the database is {size / 1024**2:.0f} MB on a server elsewhere: watch that "
                      "server's disk space there")
