"""A progress bar with a count and an ETA for long work; plain lines on stderr when it is not a terminal."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

Advance = Callable[[int], None]


def _span(seconds: float) -> str:
    return str(timedelta(seconds=int(seconds)))


class PlainProgress:
    """What a log file or a CI job should see: a line at every tenth of the way (at most one per 2 s), and the end."""

    def __init__(self, label: str, total: int, done: int = 0) -> None:
        self.label, self.total, self.done, self._start_done = label, total, done, done
        self._started = self._last = time.monotonic()
        self._step = max(total // 10, 1)
        self._next = done + self._step

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self._next <= self.done < self.total and now - self._last >= 2:
            self._line(f"about {_span(self._eta(now))} left")
            self._last = now
            self._next = self.done + self._step

    def _eta(self, now: float) -> float:
        rate = (self.done - self._start_done) / max(now - self._started, 1e-6)
        return (self.total - self.done) / rate if rate > 0 else 0.0

    def _line(self, tail: str) -> None:
        share = f" ({self.done / self.total:.0%})" if self.total else ""
        typer.echo(f"{self.label}: {self.done}/{self.total}{share}, {tail}", err=True)

    def start(self) -> None:
        self._line("resuming" if self.done else "starting")

    def finish(self) -> None:
        self._line(f"done in {_span(time.monotonic() - self._started)}")


@contextmanager
def progress(label: str, total: int, done: int = 0) -> Iterator[Advance]:
    """Yield `advance(n)`; on a terminal a rich bar (count, share, elapsed, ETA), otherwise plain lines on stderr.

    Progress goes to stderr, so `gateway export … -` keeps stdout for the data.
    """
    terminal = Console(stderr=True)
    if not terminal.is_terminal:
        plain = PlainProgress(label, total, done)
        plain.start()
        yield plain.advance
        plain.finish()
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=terminal, transient=False) as bar:
        task = bar.add_task(label, total=total, completed=done)
        yield lambda count=1: bar.advance(task, count)
