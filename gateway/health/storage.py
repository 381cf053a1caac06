"""Doctor check of where raw mail is kept: a raw_dir that exists and takes files, and none missing for stored rows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from gateway.config import Settings
from gateway.health import Finding
from gateway.models import RawMessage
from gateway.store import Store


def check_storage(settings: Settings) -> Iterator[Finding]:
    """raw = "files": the folder is there and writable. Either way: the newest mail stored as a file is found there
    (one look, not a scan of every file)."""
    storage = settings.storage
    folder = Path(storage.raw_dir) if storage.raw_dir else None
    if storage.raw == "files":
        if folder is None or not folder.is_dir():
            yield Finding("storage", False, f"[storage] raw_dir {storage.raw_dir!r} is not a folder",
                          f"create it (mkdir -p {storage.raw_dir}) or point raw_dir at the folder for raw mail")
            return
        if not os.access(folder, os.W_OK | os.X_OK):
            yield Finding("storage", False, f"[storage] raw_dir {folder} is not writable by this user",
                          "give the gateway's user write access to it (chown or chmod)")
            return
    store = Store.for_settings(settings)
    try:
        with store.reading() as tx:
            spooled = tx.exec(select(RawMessage.spool).where(col(RawMessage.spool) != "")
                              .order_by(col(RawMessage.id).desc()).limit(1)).first()
    except SQLAlchemyError:
        return  # The database check already says the store cannot be opened.
    finally:
        store.dispose()
    if spooled and not store.raw_files.path(spooled).is_file():
        yield Finding("storage", False, f"stored mail is kept as files, but {spooled[:12]}… is not under "
                      f"[storage] raw_dir ({storage.raw_dir or 'not set'})",
                      "set raw_dir to the folder that holds the raw files (keep it set after raw = \"database\")")
        return
    where = f"files under {folder}" if storage.raw == "files" else "the database"
    yield Finding("storage", True, f"raw mail is kept in {where}" + (
        f"; mail stored earlier as files is read from {folder}" if spooled and storage.raw != "files" else ""))
