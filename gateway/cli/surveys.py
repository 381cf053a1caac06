"""`gateway surveys list | stats | opt-out`: what customers answered, in figures admins can share."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import select

from gateway.cli.common import SINCE_HELP, ConfigOption, JsonOption, fail, open_store, settings_from, since_time
from gateway.cli.csv_cells import write_csv
from gateway.cli.output import table
from gateway.clock import utc_now
from gateway.models import Customer
from gateway.surveys.answers import set_opt_out
from gateway.surveys.choices import label
from gateway.surveys.rows import survey_rows
from gateway.surveys.stats import Figures, SurveyRow, SurveyStats, summarize

app = typer.Typer(no_args_is_help=True, help="Satisfaction surveys: answers, figures and opt-outs.\n\n"
                                            "Example: gateway surveys stats --since 90d")
CsvOption = Annotated[bool, typer.Option("--csv", help="CSV on stdout, for a spreadsheet.")]


def _pct(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "-"


def _fraction(value: float | None) -> str:
    return f"{value:.4f}" if value is not None else ""


def _rows(config: object, since: str) -> list[SurveyRow]:
    settings = settings_from(config)  # type: ignore[arg-type]
    start = None if since.strip().lower() == "all" else since_time(since, settings)
    store = open_store(settings)
    with store.reading() as tx:
        return survey_rows(tx, start)


def _row_json(row: SurveyRow) -> dict[str, object]:
    plain = asdict(row)
    plain["tags"] = list(row.tags)
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in plain.items()}


@app.command("list")
def list_(config: ConfigOption = None, json_: JsonOption = False, csv_: CsvOption = False,
          since: Annotated[str, typer.Option(help=f"{SINCE_HELP} Or all.")] = "30d",
          answered: Annotated[bool, typer.Option("--answered", help="Only surveys the customer answered.")]
          = False) -> None:
    """List the surveys sent, with each answer and comment, oldest first.

    Example: gateway surveys list --since 2026-01-01 --csv > surveys.csv
    """
    rows = [r for r in _rows(config, since) if r.rating is not None or not answered]
    if json_:
        for row in rows:
            typer.echo(json.dumps(_row_json(row), ensure_ascii=False))
        return
    if csv_:
        write_csv(sys.stdout, ["sent_at", "ref", "customer", "channel", "tags", "rating", "of", "comment", "rated_at",
                               "rated_via", "subject"],
                  ([r.sent_at.isoformat(), r.ref, r.customer, r.channel, " ".join(r.tags), r.rating or "", r.choices,
                    r.comment, r.rated_at.isoformat() if r.rated_at else "", r.rated_via, r.subject] for r in rows))
        return
    table(("SENT", "REF", "CUSTOMER", "CHANNEL", "ANSWER", "COMMENT"),
          [(f"{r.sent_at:%Y-%m-%d}", r.ref, r.customer, r.channel,
            f"{r.rating}/{r.choices} {label(r.choices, r.rating)}" if r.rating else "-",
            " ".join(r.comment.split()) or "-") for r in rows],
          empty="no surveys sent in that time")


def _stats_json(stats: SurveyStats) -> dict[str, object]:
    def fig(f: Figures) -> dict[str, object]:
        return {"sent": f.sent, "answered": f.answered, "satisfied": f.satisfied, "response_rate": f.response_rate,
                "csat": f.csat}

    groups = {"channel": stats.by_channel, "tag": stats.by_tag, "month": stats.by_month, "agent": stats.by_agent}
    return {"overall": fig(stats.overall),
            "distribution": {str(scale): {str(v): n for v, n in counts.items()}
                             for scale, counts in stats.distribution.items()},
            **{f"by_{name}": {k: fig(f) for k, f in group.items()} for name, group in groups.items() if group},
            "comments": [_row_json(r) for r in stats.comments]}


def _group_table(title: str, group: dict[str, Figures]) -> Table:
    shown = Table(title.upper(), "SENT", "ANSWERED", "RESPONSE", "CSAT", box=None, title_justify="left")
    for key, f in group.items():
        shown.add_row(key, str(f.sent), str(f.answered), _pct(f.response_rate), _pct(f.csat))
    return shown


@app.command()
def stats(config: ConfigOption = None, json_: JsonOption = False, csv_: CsvOption = False,
          since: Annotated[str, typer.Option(help=f"{SINCE_HELP} Or all.")] = "365d",
          by_agent: Annotated[bool, typer.Option("--by-agent", help="Also per agent (we measure the product "
                                                 "first, not the people).")] = False,
          comments: Annotated[int, typer.Option(min=0, help="Show this many of the newest comments.")] = 10) -> None:
    """Response rate, answers, CSAT, and the same by channel, tag and month; with the newest comments.

    CSAT is the share of answers that were satisfied: 4 or 5 of 5, or "great" of 3.
    Example: gateway surveys stats --since 90d --csv > csat.csv
    """
    result = summarize(_rows(config, since), by_agent=by_agent)
    groups = {"channel": result.by_channel, "tag": result.by_tag, "month": result.by_month, "agent": result.by_agent}
    if json_:
        typer.echo(json.dumps(_stats_json(result), ensure_ascii=False))
        return
    if csv_:
        write_csv(sys.stdout, ["group", "key", "sent", "answered", "satisfied", "response_rate", "csat"],
                  ([name, key, f.sent, f.answered, f.satisfied, _fraction(f.response_rate), _fraction(f.csat)]
                   for name, group in {"overall": {"all": result.overall}, **groups}.items()
                   for key, f in group.items()))
        return
    console = Console(markup=False, highlight=False, soft_wrap=True)
    o = result.overall
    console.print(f"surveys sent: {o.sent} · answered: {o.answered} ({_pct(o.response_rate)}) · "
                  f"CSAT: {_pct(o.csat)} ({o.satisfied} of {o.answered} satisfied)")
    for scale, counts in result.distribution.items():
        console.print(f"answers (1-{scale}): " + " · ".join(f"{v} {label(scale, v)}: {n}" for v, n in counts.items()))
    for name, group in groups.items():
        if group:
            console.print()
            console.print(_group_table(f"by {name}", group))
    if comments and result.comments:
        console.print()
        console.print("newest comments:")
        for r in result.comments[:comments]:
            console.print(f"  {(r.rated_at or r.sent_at):%Y-%m-%d} {r.ref} {r.rating}/{r.choices}: "
                          f"{' '.join(r.comment.split())}")


@app.command("opt-out")
def opt_out(address: Annotated[str, typer.Argument(help="The customer's address.")], config: ConfigOption = None,
            undo: Annotated[bool, typer.Option("--undo", help="Send them surveys again.")] = False) -> None:
    """Stop surveys to a customer who asked by other means (or, with --undo, start them again).

    Example: gateway surveys opt-out anne@customer.example
    """
    store = open_store(settings_from(config))
    with store.transaction() as tx:
        customer = tx.exec(select(Customer).where(Customer.address == address.strip().lower())).first()
        if customer is None:
            fail(f"no customer {address!r}; `gateway conversations list` shows who wrote")
        set_opt_out(tx, customer, not undo, utc_now())
    typer.echo(f"{customer.address} {'gets surveys again' if undo else 'gets no more surveys'}")
