"""The `gateway` command: one Typer app, one module per noun."""

from __future__ import annotations

import sys

import typer

from gateway.cli import (agents, conversations, doctor, export, incidents, lifecycle, quarantine, report, status,
                         surveys, templates)
from gateway.errors import GatewayError

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, add_completion=True,
                  help="An email-native support gateway. Start with `gateway init`, then `gateway serve`.")
lifecycle.register(app)
export.register(app)
doctor.register(app)
report.register(app)
status.register(app)
app.add_typer(conversations.app, name="conversations")
app.add_typer(agents.app, name="agents")
app.add_typer(quarantine.app, name="quarantine")
app.add_typer(incidents.app, name="incidents")
app.add_typer(templates.app, name="templates")
app.add_typer(surveys.app, name="surveys")


def main() -> None:
    """Entry point: any error we expected becomes one line on stderr, never a traceback."""
    try:
        app()
    except GatewayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except OSError as exc:  # A file that cannot be written, a port in use: the system's words, in one line.
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
