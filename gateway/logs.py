"""Logging set-up shared by the daemon, its worker process and the CLI: one line per event."""

import logging

from gateway.config import Settings


def setup_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.logging.level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The storage and SMTP libraries log every statement or connection at INFO; those are not our events.
    for noisy in ("alembic", "sqlalchemy", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
