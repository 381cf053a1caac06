"""Raw mail kept as files: one per distinct message, named by the SHA-256 of its bytes, on disk before the commit
that refers to it. The same bytes stored twice (a message delivered twice) are one file."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)


class RawFiles:
    """A folder of content-addressed files: ab/cd/abcd…(64 hex digits)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key[2:4] / key

    def put_many(self, items: list[bytes]) -> list[str]:
        """Store each (files and the folder entries naming them fsynced) and return their keys, in order."""
        keys = [hashlib.sha256(data).hexdigest() for data in items]
        written: list[tuple[Path, Path]] = []
        folders: set[Path] = set()
        for key, data in zip(keys, items):
            path = self.path(key)
            if path.exists():
                try:
                    # Fresh again: retention never removes a file reused after its cut-off.
                    os.utime(path)
                    continue
                except FileNotFoundError:
                    pass  # Retention moved it aside this instant: written anew below.
            for folder in (path.parent.parent, path.parent):
                if not folder.exists():
                    folder.mkdir(parents=True, exist_ok=True)
                    folders.add(folder.parent)
            temporary = path.with_name(f".{key}.{os.getpid()}.{time.monotonic_ns()}")
            temporary.write_bytes(data)
            written.append((temporary, path))
            folders.add(path.parent)
        if os.geteuid() == 0:
            self._give_to_owner([*(t for t, _ in written), *folders])
        # One pass of fsyncs for the batch: the group commit that follows covers every message in it.
        for temporary, _ in written:
            _fsync(temporary, os.O_RDONLY)
        for temporary, path in written:
            os.replace(temporary, path)
        for folder in folders:
            _fsync(folder, os.O_RDONLY | os.O_DIRECTORY)
        return keys

    def _give_to_owner(self, paths: list[Path]) -> None:
        """What root made (`sudo gateway import …`) goes to raw_dir's owner: the daemon's user must still write
        into these folders and read these files."""
        owner = self.root.stat()
        if owner.st_uid == os.geteuid():
            return
        for path in paths:
            if path.is_relative_to(self.root) and path != self.root:
                try:
                    os.chown(path, owner.st_uid, owner.st_gid)
                except OSError:  # A share that refuses chown (root squashed): storing the mail matters more.
                    log.warning("raw mail file %s kept as root: chown refused by the filesystem", path)

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    @property
    def _aside(self) -> Path:
        """Where retention moves a file to judge it: one folder, so a file left there by a crash is found again."""
        return self.root / ".removing"

    def remove_older_than(self, key: str, cutoff: float) -> int:
        """Remove the file if it was last written or reused before `cutoff` (a timestamp); its size, else 0."""
        path = self.path(key)
        # Moved aside before it is judged, never judged then removed: a message stored with the same bytes in
        # between either reused it first (its fresh time shows, and it is put back) or finds no file and writes
        # it anew. Judged in place, a reuse between the look and the unlink lost that message's bytes.
        self._aside.mkdir(exist_ok=True)
        aside = self._aside / f"{key}.{os.getpid()}.{time.monotonic_ns()}"
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return 0
        old = False
        try:
            stat = aside.stat()
            old = stat.st_mtime < cutoff
        finally:
            # Put back unless judged old, also when interrupted (an exception, Ctrl-C) while judging.
            if not old:
                self._put_back(aside, path)
        if not old:
            return 0
        aside.unlink()
        return stat.st_size

    def _put_back(self, aside: Path, path: Path) -> None:
        try:
            os.link(aside, path)
            _fsync(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        except FileExistsError:
            pass  # Written anew meanwhile: that copy stands.
        aside.unlink()

    def recover(self) -> int:
        """Put back every file a killed retention run left moved aside (it is judged again next time); how many."""
        if not self._aside.is_dir():
            return 0
        moved = list(self._aside.iterdir())
        for aside in moved:
            self._put_back(aside, self.path(aside.name.partition(".")[0]))
        return len(moved)


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
