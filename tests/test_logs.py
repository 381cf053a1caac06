"""What a CLI command that sets up no logging prints when the pipeline logs: one line, never a traceback."""

from __future__ import annotations

import logging

from gateway.logs import one_line_warnings


def test_a_logged_exception_is_one_line_on_stderr_in_cli_commands(capsys) -> None:
    saved = logging.lastResort
    one_line_warnings()
    log = logging.getLogger("gateway.pipeline.test_logs")
    log.propagate = False  # no handler anywhere: what an unconfigured CLI process has
    try:
        try:
            raise TypeError("no loader for this environment specified")
        except TypeError:
            log.exception("raw=%s quarantined at processing", 10)
        log.info("raw=%s processed", 11)  # below a warning: not printed
    finally:
        logging.lastResort = saved
        log.propagate = True
    assert capsys.readouterr().err.splitlines() == [
        "error: raw=10 quarantined at processing (TypeError: no loader for this environment specified)"]
