"""`gateway doctor` prints one line per check and exits 1 when something needs fixing."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from gateway.cli import app

runner = CliRunner()


def test_doctor_finds_a_migrated_database_healthy(store, database_url, monkeypatch) -> None:
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    result = runner.invoke(app, ["doctor", "--json"], env={"GATEWAY_DATABASE_URL": database_url,
                                                           "GATEWAY_WEB_PUBLIC_URL": "https://support.example.com"})
    findings = [json.loads(line) for line in result.output.splitlines()]
    assert result.exit_code == 0 and {"check": "database", "ok": True} == {
        k: findings[0][k] for k in ("check", "ok")}


def test_doctor_names_an_unreachable_database_and_the_fix(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = runner.invoke(app, ["doctor"], env={"GATEWAY_DATABASE_URL": url})
    assert result.exit_code == 1
    assert "FAIL  database: cannot open" in result.output and "fix: check [database] url" in result.output
