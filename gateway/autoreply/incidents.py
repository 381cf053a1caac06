"""Known incidents as customers hear of them: which are open now, and the values the template sees."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from gateway.autoreply.views import IncidentView
from gateway.models import Incident, IncidentKind
from gateway.store import once_per_batch


@dataclass(frozen=True)
class OpenIncident:
    """One incident customers are told about, detached from the session."""

    id: int
    title: str
    kind: IncidentKind
    detail: str
    opened_at: datetime
    updated_at: datetime
    until: datetime | None  # None: nobody knows when it ends, or the estimate has passed


def utc_until(when: datetime) -> str:
    """The default phrasing of an end time, e.g. "Tue 24 Nov 18:00 UTC"."""
    return when.astimezone(UTC).strftime("%a %d %b %H:%M UTC")


def is_over(incident: Incident, now: datetime) -> bool:
    """True once a maintenance window has ended: customers stop hearing of it even before it is resolved."""
    return incident.kind == IncidentKind.MAINTENANCE and incident.until is not None and incident.until <= now


def open_incidents(tx: Session, now: datetime) -> tuple[OpenIncident, ...]:
    """The unresolved incidents customers should hear about at `now`, newest first."""
    rows = once_per_batch(tx, "incidents", lambda: tx.exec(
        select(Incident).where(col(Incident.resolved_at).is_(None))
        .order_by(col(Incident.opened_at).desc(), col(Incident.id).desc())).all())
    return tuple(_open(row, now) for row in rows if not is_over(row, now))


def _open(row: Incident, now: datetime) -> OpenIncident:
    # An outage whose estimate has passed is still on, but "fixed by 14:00" at 15:00 would be untrue.
    until = row.until if row.until is not None and row.until > now else None
    return OpenIncident(id=row.id or 0, title=row.title, kind=IncidentKind(row.kind), detail=row.detail,
                        opened_at=row.opened_at, updated_at=row.updated_at, until=until)


def incident_views(incidents: Iterable[OpenIncident],
                   format_until: Callable[[datetime], str] = utc_until) -> tuple[IncidentView, ...]:
    """What the auto-reply template sees for each incident, end times phrased by `format_until`."""
    return tuple(IncidentView(title=i.title.strip().rstrip("."), kind=str(i.kind), detail=sentence(i.detail),
                              until=format_until(i.until) if i.until is not None else "")
                 for i in incidents)


def sentence(text: str) -> str:
    """The text as a sentence: the templates put the next one right after it ("Our provider is slow We're…")."""
    text = text.strip()
    return text if not text or text[-1] in ".!?…)\"'»”。" else f"{text}."
