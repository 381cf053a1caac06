"""`gateway report`: how the support desk is doing, for a terminal, a script, a spreadsheet or a browser."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gateway.autoreply.hours import SupportHours
from gateway.cli.common import ConfigOption, JsonOption, fail, open_store, settings_from
from gateway.cli.csv_cells import write_csv
from gateway.clock import utc_now
from gateway.reports.columns import COLUMNS, csv_cell
from gateway.reports.html import render_html
from gateway.reports.metrics import GroupBy
from gateway.reports.report import make_report, to_json
from gateway.reports.text import print_report
from gateway.reports.window import report_window


def report(config: ConfigOption = None, json_: JsonOption = False,
           since: Annotated[str | None, typer.Option(
               help="Start: 30d (ago), today, 2026-03-01 or \"2026-03-01 14:00\" (in the \\[hours] time zone). "
                    "Default: 30 days before --until.", show_default=False)] = None,
           until: Annotated[str | None, typer.Option(help="End (not included), same forms. Default: now.",
                                                     show_default=False)] = None,
           channel: Annotated[str | None, typer.Option(help="Only this channel, e.g. billing@example.com.")] = None,
           by: Annotated[GroupBy | None, typer.Option(help="One row per tag, channel or week.")] = None,
           by_agent: Annotated[bool, typer.Option("--by-agent", help="Add replies per agent.")] = False,
           csv_: Annotated[bool, typer.Option("--csv", help="The measures as CSV, one row per group.")] = False,
           html: Annotated[Path | None, typer.Option(help="Also write a self-contained web page to share.",
                                                     dir_okay=False)] = None) -> None:
    """Measure the product: volume, reply and resolution times, reopens, auto-replies, tags, busiest hours.

    Conversations opened in the window are measured over their whole life; messages count when they arrived.
    Example: gateway report --since 2026-03-01 --until 2026-04-01 --by week --html march.html
    """
    if json_ and csv_:
        fail("--json and --csv: choose one", code=2)
    settings = settings_from(config)
    hours = SupportHours.from_settings(settings.hours)
    try:
        window = report_window(since, until, utc_now(), hours.zone)
    except ValueError as exc:
        fail(str(exc), code=2)
    if channel is not None and channel.lower() not in settings.support_addresses:
        fail(f"--channel {channel}: not one of [mail] addresses ({', '.join(sorted(settings.support_addresses))})",
             code=2)
    store = open_store(settings)
    with store.reading() as tx:
        found = make_report(tx, settings, window, channel.lower() if channel else None, by, by_agent)
    store.dispose()
    if html is not None:
        html.write_text(render_html(found), encoding="utf-8")
    if json_:
        typer.echo(json.dumps(to_json(found), ensure_ascii=False))
    elif csv_:
        write_csv(sys.stdout, [c.key for c in COLUMNS],
                  ([csv_cell(c.value(metrics)) for c in COLUMNS]
                   for metrics in (found.groups if found.by is None else [*found.groups, found.total])),
                  lineterminator="\n")
    else:
        print_report(found, Console(markup=False, highlight=False, soft_wrap=True))
        if html is not None:
            typer.echo(f"\nwrote {html}")


def register(app: typer.Typer) -> None:
    app.command()(report)
