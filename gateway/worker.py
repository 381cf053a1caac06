"""A worker thread in Mailman's runner shape: repeat run_once(), sleep when idle, never die."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Worker:
    """Runs `run_once` until stopped; an error is logged and retried after a growing pause."""

    def __init__(self, name: str, run_once: Callable[[], int], idle: float = 1.0,
                 wake: threading.Event | None = None) -> None:
        self.name, self.run_once, self.idle = name, run_once, idle
        # Another thread may wake us: the daemon's pipe after a commit, or the processor for the sender.
        self.wake = wake if wake is not None else threading.Event()
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish the item in hand, then return."""
        self.stopping.set()
        self.wake.set()
        self._thread.join()

    def _run(self) -> None:
        pause = self.idle
        while not self.stopping.is_set():
            try:
                count = self.run_once()
                pause = self.idle
            except Exception:  # Mailman's lesson: a runner that dies silently stops the whole gateway.
                log.exception("worker %s failed; retrying in %.0fs", self.name, pause)
                count, pause = 0, min(pause * 2, 60.0)
            if count == 0:
                self.wake.wait(pause)
                self.wake.clear()
