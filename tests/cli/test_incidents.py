"""`gateway incidents open | update | resolve | list` through Typer's CliRunner."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from gateway.autoreply.incidents import open_incidents
from gateway.cli import app

runner = CliRunner()


@pytest.fixture
def env(database_url, store, monkeypatch) -> dict[str, str]:  # store: the database `gateway init` made
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    return {"GATEWAY_DATABASE_URL": database_url, "GATEWAY_HOURS_TIMEZONE": "Europe/Berlin"}


def gateway(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["incidents", *args], env=env)
    assert result.exit_code == code, result.output
    return result.output


def listed(env: dict[str, str], *flags: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in gateway(env, "list", "--json", *flags).splitlines()]


def test_open_prints_the_id_and_the_auto_reply_sees_the_incident(env, store) -> None:
    out = gateway(env, "open", "Mail delivery delays", "--kind", "outage", "--detail", "Outlook addresses only")
    assert out.strip().isdigit()
    [row] = listed(env)
    assert row["id"] == int(out) and row["title"] == "Mail delivery delays" and row["status"] == "open"
    assert (row["kind"], row["detail"], row["until"], row["resolved_at"]) == (
        "outage", "Outlook addresses only", None, None)
    with store.reading() as tx:
        assert [i.title for i in open_incidents(tx, datetime.now(UTC))] == ["Mail delivery delays"]


def test_until_without_an_offset_is_the_support_teams_local_time(env) -> None:
    gateway(env, "open", "Database upgrade", "--kind", "maintenance", "--until", "2030-11-24 18:00")
    [row] = listed(env)
    assert row["until"] == "2030-11-24T17:00:00+00:00", "18:00 in Berlin in November is 17:00 UTC"
    assert "2030-11-24 18:00 CET" in gateway(env, "list"), "the table shows it in the same local time"


def test_until_with_an_offset_or_as_a_span_from_now(env) -> None:
    gateway(env, "open", "Planned", "--kind", "maintenance", "--until", "2030-06-01T12:00+02:00")
    before = datetime.now(UTC)
    gateway(env, "open", "Delays", "--kind", "outage", "--until", "90m")
    delays, planned = listed(env)
    assert planned["until"] == "2030-06-01T10:00:00+00:00"
    until = datetime.fromisoformat(str(delays["until"]))
    assert before + timedelta(minutes=90) <= until <= datetime.now(UTC) + timedelta(minutes=90)


def test_a_maintenance_without_an_end_is_opened_with_a_warning(env) -> None:
    result = runner.invoke(app, ["incidents", "open", "Database upgrade", "--kind", "maintenance"], env=env)
    assert result.exit_code == 0
    assert "customers will not be told when it ends" in result.stderr
    assert result.stdout.strip().isdigit(), "stdout stays just the id, for scripts"


def test_update_changes_only_what_it_is_given(env) -> None:
    id_ = gateway(env, "open", "Delays", "--kind", "outage", "--detail", "Outlook only").strip()
    out = gateway(env, "update", id_, "--title", "Mail delivery delays", "--until", "2030-11-24 18:00")
    assert "updated incident" in out and "2030-11-24 18:00 CET" in out
    [row] = listed(env)
    assert (row["title"], row["detail"], row["kind"], row["until"]) == (
        "Mail delivery delays", "Outlook only", "outage", "2030-11-24T17:00:00+00:00")
    gateway(env, "update", id_, "--kind", "maintenance", "--until", "none")
    [row] = listed(env)
    assert row["kind"] == "maintenance" and row["until"] is None


def test_resolve_ends_it_for_customers_and_list_all_still_shows_it(env, store) -> None:
    id_ = gateway(env, "open", "Delays", "--kind", "outage").strip()
    assert "resolved on" in gateway(env, "resolve", id_)
    assert "already resolved" in gateway(env, "resolve", id_), "resolving twice is not an error"
    assert listed(env) == []
    [row] = listed(env, "--all")
    assert row["status"] == "resolved" and row["resolved_at"] is not None
    with store.reading() as tx:
        assert open_incidents(tx, datetime.now(UTC)) == ()
    assert "no open incidents" in gateway(env, "list")


def test_the_table_is_plain_text_when_piped(env) -> None:
    gateway(env, "open", "[urgent] Mail delivery delays", "--kind", "outage")
    table = gateway(env, "list")
    assert "\x1b[" not in table and "[urgent] Mail" in table
    assert table.splitlines()[0].split() == ["ID", "KIND", "STATUS", "TITLE", "UNTIL", "OPENED"]


@pytest.mark.parametrize("args, code, message", [
    (["open", "Delays", "--kind", "outage", "--until", "2020-01-01 10:00"], 2, "is already past"),
    (["open", "Delays", "--kind", "outage", "--until", "tomorrow"], 2, "is neither a time like"),
    (["open", "  ", "--kind", "outage"], 2, "the title is empty"),
    (["update", "1"], 2, "nothing to change"),
    (["update", "99", "--title", "x"], 1, "no incident 99"),
    (["resolve", "99"], 1, "no incident 99"),
])
def test_bad_arguments_get_one_line_saying_what_is_wrong(env, args, code, message) -> None:
    result = runner.invoke(app, ["incidents", *args], env=env)
    assert result.exit_code == code
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_resolved_incident_is_not_updated(env) -> None:
    id_ = gateway(env, "open", "Delays", "--kind", "outage").strip()
    gateway(env, "resolve", id_)
    assert "open a new one" in gateway(env, "update", id_, "--detail", "later", code=1)


def test_an_unknown_kind_is_bad_usage(env) -> None:
    result = runner.invoke(app, ["incidents", "open", "Delays", "--kind", "fire"], env=env)
    assert result.exit_code == 2 and "fire" in result.output
