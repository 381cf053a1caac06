"""`gateway doctor` prints one line per check and exits 1 when something needs fixing."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from gateway.cli import app
from tests.helpers import free_port

runner = CliRunner()


def test_doctor_finds_a_migrated_database_healthy(store, database_url, relay_sink, monkeypatch) -> None:
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    result = runner.invoke(app, ["doctor", "--json"], env={
        "GATEWAY_DATABASE_URL": database_url, "GATEWAY_RELAY_PORT": str(relay_sink.port),
        "GATEWAY_SMTP_PORT": str(free_port()), "GATEWAY_WEB_PUBLIC_URL": "https://support.example.com"})
    findings = [json.loads(line) for line in result.output.splitlines()]
    assert result.exit_code == 0, result.output
    assert {"check": "database", "ok": True} == {k: next(f for f in findings if f["check"] == "database")[k]
                                                 for k in ("check", "ok")}
    # One line per check, in order (other issues add theirs); warnings (the example.com defaults) do not fail.
    ours = ["config", "database", "disk", "smtp", "relay", "templates"]
    assert [f["check"] for f in findings if f["check"] in ours and not f["warning"]] == ours
    assert set(findings[0]) == {"check", "ok", "detail", "fix", "warning"}


def test_doctor_prints_one_coloured_line_per_finding_with_its_fix(store, database_url, monkeypatch) -> None:
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    result = runner.invoke(app, ["doctor"], env={"GATEWAY_DATABASE_URL": database_url, "COLUMNS": "60",
                                                 "GATEWAY_RELAY_PORT": str(free_port())})
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert all(line.startswith(("ok    ", "warn  ", "FAIL  ")) for line in lines), lines
    assert any(line.startswith("warn  config: [mail] still uses example.com") and "fix: set [mail]" in line
               for line in lines)
    assert any(line.startswith("FAIL  relay: cannot reach") for line in lines)


def test_doctor_names_an_unreachable_database_and_the_fix(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = runner.invoke(app, ["doctor"], env={"GATEWAY_DATABASE_URL": url})
    assert result.exit_code == 1
    assert "FAIL  database: cannot open" in result.output and "fix: check [database] url" in result.output
