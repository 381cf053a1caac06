"""deploy/systemd/gateway.service: a unit systemd accepts, and hardened (systemd's own exposure score)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "gateway.service"


@pytest.fixture
def analyze(tmp_path) -> tuple[str, Path]:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    copy = tmp_path / "gateway.service"
    copy.write_text(UNIT.read_text())
    return tool, copy


def test_the_unit_verifies_except_for_the_program_not_installed_here(analyze):
    tool, unit = analyze
    done = subprocess.run([tool, "verify", "--man=no", str(unit)], capture_output=True, text=True)
    problems = [line for line in done.stderr.splitlines() if line.strip() and "is not executable" not in line]
    assert problems == []


def test_the_unit_is_hardened(analyze):
    tool, unit = analyze
    done = subprocess.run([tool, "security", "--offline=yes", str(unit)], capture_output=True, text=True)
    score = float(re.search(r"Overall exposure level for gateway.service: ([\d.]+)", done.stdout).group(1))
    assert score <= 2.0, done.stdout  # systemd calls 0-2 "OK"; an unhardened service scores 9.6.
    text = UNIT.read_text()
    for setting in ("User=gateway", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                    "PrivateTmp=yes", "CapabilityBoundingSet=\n"):
        assert setting in text
