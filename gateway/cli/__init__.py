"""The `gateway` command: one Typer app, one module per noun."""

from __future__ import annotations

import sys
from importlib.metadata import version
from typing import Annotated, Any

import typer
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperGroup

from gateway.cli import (agents, conversation_changes, conversations, doctor, export, importing, incidents, kb,
                         lifecycle, messages, quarantine, queue, report, retention, status, surveys, templates)
from gateway.errors import GatewayError
from gateway.logs import one_line_warnings

try:  # Typer 0.20+ carries its own copy of click.
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older Typer on plain click
    from click.exceptions import ClickException, NoArgsIsHelpError, UsageError  # type: ignore[no-redef]


class OneLineErrors(TyperGroup):
    """Every failure is one line on stderr: 2 for bad usage, 1 for what went wrong, 130 for Ctrl-C."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        one_line_warnings()
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:
            typer.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
            code = 2
        except UsageError as exc:
            message = exc.format_message().replace("Value error, ", "").strip()
            message += "" if message.endswith((".", "?", "!")) else "."
            hint = f" See `{exc.ctx.command_path} --help`." if exc.ctx is not None else ""
            typer.echo(f"error: {message}{hint}", err=True)
            code = 2
        except ClickException as exc:
            typer.echo(f"error: {exc.format_message()}", err=True)
            code = exc.exit_code
        except typer.Abort:
            typer.echo("error: interrupted", err=True)
            code = 130
        # Expected trouble (a store that went away, a file that cannot be written, a number too large for the
        # database): the system's words, one line.
        except (GatewayError, OSError, OverflowError) as exc:
            typer.echo(f"error: {exc}", err=True)
            code = 1
        except SQLAlchemyError as exc:  # Its text goes on with the SQL and a link: the first line says it.
            typer.echo(f"error: database error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                       err=True)
            code = 1
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(cls=OneLineErrors, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=True,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="An email-native support gateway. Start with `gateway init`, then `gateway serve`.\n\n"
                       "Example: gateway conversations list --status open\n\n"
                       "Shell completion: gateway --install-completion (bash, zsh, fish), then open a new shell.")


def _version(shown: bool) -> None:
    if shown:
        typer.echo(f"gateway {version('support-gateway')}")
        raise typer.Exit()


@app.callback()
def _root(_: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False) -> None:
    pass


lifecycle.register(app)
export.register(app)
importing.register(app)
doctor.register(app)
report.register(app)
status.register(app)
app.add_typer(conversations.app, name="conversations")
conversation_changes.register(conversations.app)
app.add_typer(agents.app, name="agents")
app.add_typer(quarantine.app, name="quarantine")
app.add_typer(queue.app, name="queue")
app.add_typer(messages.app, name="messages")
app.add_typer(kb.app, name="kb")
app.add_typer(incidents.app, name="incidents")
app.add_typer(templates.app, name="templates")
app.add_typer(surveys.app, name="surveys")
app.add_typer(retention.app, name="retention")


def main() -> None:
    """Entry point: `gateway` on the PATH and `python -m gateway`."""
    app()
