"""`gateway doctor`: one line per check, green or red, with the fix."""

from __future__ import annotations

import json

import typer

from gateway.cli.common import ConfigOption, JsonOption, settings_from
from gateway.cli.output import console
from gateway.health import Check, run_checks
from gateway.health.config import check_config
from gateway.health.database import check_database
from gateway.health.dkim import check_dkim
from gateway.health.forms import check_contact_forms
from gateway.health.disk import check_disk
from gateway.health.imap import check_imap
from gateway.health.relay import check_relay
from gateway.health.smtp_listen import check_smtp_listen
from gateway.health.storage import check_storage
from gateway.health.surveys import check_survey_links
from gateway.health.templates import check_saved_replies, check_templates
from gateway.store import Store

# The order they print in: the config loaded (or settings_from already failed in one line), then the store.
CHECKS: tuple[Check, ...] = (check_config, check_database, check_disk, check_storage, check_smtp_listen, check_relay,
                             check_imap, check_dkim, check_templates, check_saved_replies,
                             check_survey_links, check_contact_forms)
READ_THE_STORE = (check_storage, check_imap, check_templates, check_saved_replies, check_contact_forms)


def doctor(config: ConfigOption = None, json_: JsonOption = False) -> None:
    """Check the config, the database and every outside service; exit 1 if anything needs fixing.

    Example: gateway doctor --config /etc/gateway/gateway.toml
    """
    settings = settings_from(config)
    # Reading a database that is not there would create it, empty: the database check says so instead.
    store = Store.for_settings(settings)
    missing = store.not_created() is not None
    store.dispose()
    findings = run_checks(settings, [c for c in CHECKS if not (missing and c in READ_THE_STORE)])
    out = console()
    for finding in findings:
        if json_:
            typer.echo(json.dumps(finding.__dict__, ensure_ascii=False))
        elif finding.warning:
            out.print(f"warn  {finding.check}: {finding.detail}; fix: {finding.fix}", style="yellow")
        elif finding.ok:
            out.print(f"ok    {finding.check}: {finding.detail}", style="green")
        else:
            out.print(f"FAIL  {finding.check}: {finding.detail}; fix: {finding.fix}", style="red")
    if not all(f.ok for f in findings):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(doctor)
