"""Logging set-up shared by the daemon, its worker process and the CLI: one line per event."""

import logging

from gateway.config import Settings


def setup_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.logging.level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The storage and SMTP libraries log every statement or connection at INFO; those are not our events.
    for noisy in ("alembic", "sqlalchemy", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _OneLine(logging.Formatter):
    """A warning as a command prints it: its level and message, the exception's name and words, no traceback."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        return text


def one_line_warnings() -> None:
    """For CLI commands that set up no logging: what the pipeline logs reaches stderr as one line, not a
    traceback (`gateway serve` sets up its own handlers, so this never applies there)."""
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(_OneLine())
    logging.lastResort = handler
