"""Incidents: which ones customers hear about now, and the values the auto-reply template sees."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from gateway.autoreply.incidents import OpenIncident, incident_views, open_incidents, utc_until
from gateway.autoreply.views import IncidentView
from gateway.models import Incident, IncidentKind
from gateway.store import Store

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # a Tuesday


def incident(title: str, kind: IncidentKind = IncidentKind.OUTAGE, until: datetime | None = None,
             detail: str = "", id_: int = 1) -> OpenIncident:
    return OpenIncident(id=id_, title=title, kind=kind, detail=detail, opened_at=NOW, updated_at=NOW, until=until)


def test_views_carry_title_kind_and_detail_and_phrase_the_end_in_utc_by_default() -> None:
    views = incident_views([incident("Mail delivery delays", until=NOW + timedelta(hours=3), detail="Outlook only")])
    assert views == (IncidentView(title="Mail delivery delays", kind="outage", detail="Outlook only.",
                                  until="Tue 24 Nov 18:00 UTC"),)


@pytest.mark.parametrize(("title", "detail", "shown"), [
    ("Slow mail.", "Our provider is slow", ("Slow mail", "Our provider is slow.")),
    ("Slow mail", "Our provider is slow!  ", ("Slow mail", "Our provider is slow!")),
    ("Slow mail", "See status.example.com (updated hourly)", ("Slow mail", "See status.example.com (updated hourly)")),
    ("Slow mail", "", ("Slow mail", "")),
], ids=["no full stop", "its own punctuation", "a closing bracket", "no detail"])
def test_a_detail_reads_as_a_sentence_and_a_title_takes_no_second_full_stop(title, detail, shown) -> None:
    [view] = incident_views([incident(title, detail=detail)])
    assert (view.title, view.detail) == shown


def test_an_unknown_end_is_an_empty_string_not_a_made_up_time() -> None:
    [view] = incident_views([incident("Database maintenance", kind=IncidentKind.MAINTENANCE)])
    assert view.kind == "maintenance" and view.until == ""


def test_the_end_is_phrased_by_the_formatter_given_and_the_order_is_kept() -> None:
    seen: list[datetime] = []

    def local(when: datetime) -> str:
        seen.append(when)
        return "today at 19:00 CET"

    end = NOW + timedelta(hours=3)
    views = incident_views([incident("B", until=end, id_=2), incident("A", id_=1)], format_until=local)
    assert [v.title for v in views] == ["B", "A"] and views[0].until == "today at 19:00 CET"
    assert seen == [end], "only known ends are phrased"


def test_the_default_phrasing_converts_any_offset_to_utc() -> None:
    from zoneinfo import ZoneInfo

    assert utc_until(datetime(2026, 11, 24, 19, 0, tzinfo=ZoneInfo("Europe/Berlin"))) == "Tue 24 Nov 18:00 UTC"


def add(store: Store, title: str, kind: IncidentKind = IncidentKind.OUTAGE, *, opened: timedelta,
        until: datetime | None = None, resolved: datetime | None = None) -> None:
    with store.transaction() as tx:
        tx.add(Incident(title=title, kind=kind, opened_at=NOW - opened, updated_at=NOW - opened, until=until,
                        resolved_at=resolved))


def titles(store: Store, now: datetime = NOW) -> list[str]:
    with store.reading() as tx:
        return [i.title for i in open_incidents(tx, now)]


def test_open_incidents_are_the_unresolved_ones_newest_first(store) -> None:
    add(store, "old outage", opened=timedelta(days=2))
    add(store, "fixed", opened=timedelta(hours=5), resolved=NOW - timedelta(hours=1))
    add(store, "new outage", opened=timedelta(minutes=10))
    add(store, "planned work", IncidentKind.MAINTENANCE, opened=timedelta(hours=1), until=NOW + timedelta(hours=2))
    assert titles(store) == ["new outage", "planned work", "old outage"]


def test_a_maintenance_is_over_for_customers_once_its_end_has_passed_even_unresolved(store) -> None:
    end = NOW + timedelta(hours=2)
    add(store, "planned work", IncidentKind.MAINTENANCE, opened=timedelta(hours=1), until=end)
    assert titles(store, end - timedelta(seconds=1)) == ["planned work"]
    assert titles(store, end) == []
    assert titles(store, end + timedelta(days=1)) == []


def test_a_maintenance_without_an_end_stays_open_until_resolved(store) -> None:
    add(store, "planned work", IncidentKind.MAINTENANCE, opened=timedelta(days=3))
    assert titles(store, NOW + timedelta(days=30)) == ["planned work"]


def test_an_outage_past_its_estimate_is_still_open_but_no_longer_promises_that_time(store) -> None:
    add(store, "delays", opened=timedelta(hours=3), until=NOW - timedelta(hours=1))
    with store.reading() as tx:
        [outage] = open_incidents(tx, NOW)
    assert outage.until is None
    assert incident_views([outage])[0].until == ""


def test_open_incidents_are_frozen_values_usable_after_the_session(store) -> None:
    end = NOW + timedelta(hours=2)
    add(store, "delays", opened=timedelta(hours=1), until=end)
    with store.reading() as tx:
        [outage] = open_incidents(tx, NOW)
    assert (outage.title, outage.kind, outage.until, outage.opened_at) == (
        "delays", IncidentKind.OUTAGE, end, NOW - timedelta(hours=1))
    assert outage.id > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        outage.title = "changed"  # type: ignore[misc]
