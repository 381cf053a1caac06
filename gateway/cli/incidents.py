"""`gateway incidents open | update | resolve | list`: known problems the auto-reply tells customers about."""

from __future__ import annotations

import json
import re
from datetime import datetime, tzinfo
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlmodel import Session, col, select

from gateway.autoreply.incidents import is_over
from gateway.cli.common import MAX_ID, ConfigOption, JsonOption, fail, open_store, settings_from
from gateway.cli.output import table
from gateway.clock import utc_now
from gateway.config import parse_duration
from gateway.models import Incident, IncidentKind

app = typer.Typer(no_args_is_help=True, help="Known incidents: while one is open, every auto-reply mentions it "
                                            "(a planned maintenance is worded apart from an unplanned outage).\n\n"
                                            "Example: gateway incidents open \"Mail delivery delays\" --kind outage --until 2h")

_RELATIVE = re.compile(r"\s*\d+\s*[mhdw]\s*")
_UNTIL_HELP = ("When it is expected to end: \"2026-11-24 18:00\" in the local time of \\[hours] timezone, "
               "ISO 8601 with an offset (2026-11-24T18:00+01:00), or from now (90m, 2h, 1d).")
IdArgument = Annotated[int, typer.Argument(metavar="ID", max=MAX_ID, help="The id from `gateway incidents list`.")]
UntilOption = Annotated[str | None, typer.Option("--until", help=_UNTIL_HELP, show_default=False)]
DetailOption = Annotated[str | None, typer.Option("--detail", show_default=False,
                                                  help="What customers are told beyond the title.")]


def parse_until(text: str, now: datetime, zone: tzinfo) -> datetime:
    """An end time from a local or offset timestamp, or a span from `now`; ValueError says what is wrong."""
    if _RELATIVE.fullmatch(text):
        try:
            return now + parse_duration(text)
        except (ValueError, OverflowError):  # Longer than a timedelta holds, or past the year 9999.
            raise ValueError(f"--until {text!r} is further ahead than dates go; give a span like 2h or 1d, or a "
                             "time like \"2026-11-24 18:00\"") from None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--until {text!r} is neither a time like \"2026-11-24 18:00\" "
                         "(or 2026-11-24T18:00+01:00) nor a span like 2h or 90m") from None
    # A time without an offset is what the admin's clock on the wall says: the support team's zone.
    return when.replace(tzinfo=zone) if when.utcoffset() is None else when


def _until(text: str, now: datetime, zone: tzinfo) -> datetime:
    try:
        when = parse_until(text, now, zone)
    except ValueError as exc:
        fail(str(exc), code=2)
    if when <= now:
        fail(f"--until {text!r} is already past ({_local(when, zone)}); give a later time, "
             "or resolve the incident when it is over", code=2)
    return when


def _local(when: datetime | None, zone: tzinfo) -> str:
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if when is not None else "-"


def _warn_if_endless(incident: Incident) -> None:
    if incident.kind == IncidentKind.MAINTENANCE and incident.until is None:
        typer.echo("warning: this maintenance has no --until, so customers will not be told when it ends", err=True)


def _status(incident: Incident, now: datetime) -> str:
    if incident.resolved_at is not None:
        return "resolved"
    return "over" if is_over(incident, now) else "open"


@app.command("open")
def open_(title: Annotated[str, typer.Argument(help="What customers read, e.g. \"Mail delivery delays\".")],
          kind: Annotated[IncidentKind, typer.Option("--kind", case_sensitive=False, show_default=False,
                                                     help="outage (unplanned) or maintenance (planned).")],
          until: UntilOption = None, detail: DetailOption = None, config: ConfigOption = None) -> None:
    """Open an incident; auto-replies mention it from now on. Prints the new id.

    --until without an offset is in the local time of \\[hours] timezone from the config.

    Example: gateway incidents open "Mail delivery delays" --kind outage --until 2h
    """
    if not title.strip():
        fail("the title is empty; give what customers should read, like \"Mail delivery delays\"", code=2)
    settings = settings_from(config)
    zone, now = ZoneInfo(settings.hours.timezone), utc_now()
    end = _until(until, now, zone) if until is not None else None
    store = open_store(settings)
    with store.transaction() as tx:
        incident = Incident(title=title.strip(), kind=kind, detail=(detail or "").strip(), opened_at=now,
                            updated_at=now, until=end)
        tx.add(incident)
        tx.flush()
    _warn_if_endless(incident)
    typer.echo(incident.id)


@app.command()
def update(id_: IdArgument, title: Annotated[str | None, typer.Option(show_default=False,
                                                                      help="A new title.")] = None,
           detail: DetailOption = None, until: Annotated[str | None, typer.Option(
               "--until", show_default=False, help=_UNTIL_HELP + " \"none\": the end is unknown again.")] = None,
           kind: Annotated[IncidentKind | None, typer.Option("--kind", case_sensitive=False, show_default=False,
                                                             help="outage or maintenance.")] = None,
           config: ConfigOption = None) -> None:
    """Change what customers are told about an open incident.

    --until without an offset is in the local time of \\[hours] timezone from the config.

    Example: gateway incidents update 3 --detail "Outlook addresses are delayed" --until "2026-11-24 18:30"
    """
    if title is None and detail is None and until is None and kind is None:
        fail("nothing to change; give --title, --detail, --until or --kind", code=2)
    if title is not None and not title.strip():
        fail("the title is empty; give what customers should read", code=2)
    settings = settings_from(config)
    zone, now = ZoneInfo(settings.hours.timezone), utc_now()
    clear = until is not None and until.strip().lower() == "none"
    end = _until(until, now, zone) if until is not None and not clear else None
    store = open_store(settings)
    with store.transaction() as tx:
        incident = _get(tx, id_)
        if incident.resolved_at is not None:
            fail(f"incident {id_} was resolved on {_local(incident.resolved_at, zone)}; "
                 "open a new one with `gateway incidents open`")
        incident.title = title.strip() if title is not None else incident.title
        incident.detail = detail.strip() if detail is not None else incident.detail
        incident.kind = kind if kind is not None else incident.kind
        incident.until = None if clear else end or incident.until
        incident.updated_at = now
        tx.add(incident)
    _warn_if_endless(incident)
    typer.echo(f"updated incident {id_}: {incident.kind} \"{incident.title}\", until {_local(incident.until, zone)}")


@app.command()
def resolve(id_: IdArgument, config: ConfigOption = None) -> None:
    """Mark an incident resolved; auto-replies stop mentioning it.

    Example: gateway incidents resolve 3
    """
    settings = settings_from(config)
    zone, now = ZoneInfo(settings.hours.timezone), utc_now()
    store = open_store(settings)
    with store.transaction() as tx:
        incident = _get(tx, id_)
        already = incident.resolved_at is not None
        if not already:
            incident.resolved_at = incident.updated_at = now
            tx.add(incident)
    # Resolving twice is not an error: a script that retries must not fail.
    verb = "was already resolved on" if already else "resolved on"
    typer.echo(f"incident {id_} {verb} {_local(incident.resolved_at, zone)}")


@app.command("list")
def list_(config: ConfigOption = None, json_: JsonOption = False,
          all_: Annotated[bool, typer.Option("--all", help="Resolved incidents too.")] = False) -> None:
    """List unresolved incidents, newest first; STATUS "over" is a maintenance past its end, no longer mentioned.

    Example: gateway incidents list --all --json
    """
    settings = settings_from(config)
    zone, now = ZoneInfo(settings.hours.timezone), utc_now()
    store = open_store(settings)
    query = select(Incident).order_by(col(Incident.opened_at).desc(), col(Incident.id).desc())
    with store.reading() as tx:
        rows = tx.exec(query if all_ else query.where(col(Incident.resolved_at).is_(None))).all()
    if json_:
        for i in rows:
            typer.echo(json.dumps({"id": i.id, "title": i.title, "kind": i.kind, "status": _status(i, now),
                                   "detail": i.detail, "until": _iso(i.until), "opened_at": _iso(i.opened_at),
                                   "updated_at": _iso(i.updated_at), "resolved_at": _iso(i.resolved_at)},
                                  ensure_ascii=False))
        return
    table(("ID", "KIND", "STATUS", "TITLE", "UNTIL", "OPENED"),
          [(str(i.id), i.kind, _status(i, now), i.title, _local(i.until, zone), _local(i.opened_at, zone))
           for i in rows], empty="no open incidents" + ("" if all_ else "; `--all` shows resolved ones too"))


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _get(tx: Session, id_: int) -> Incident:
    incident = tx.get(Incident, id_)
    if incident is None:
        fail(f"no incident {id_}; `gateway incidents list --all` shows them")
    return incident
