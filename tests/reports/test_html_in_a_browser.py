"""`gateway report --html` opened in a real browser (headless Chromium): self-contained, charts drawn."""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from tests.reports.conftest import WINDOW

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# What a reader gets: what the page fetched, each chart's drawn size and shapes, the tables' cells.
PROBE = """<script>
const charts = [...document.querySelectorAll("svg.chart")].map(s => ({
  label: s.getAttribute("aria-label"), width: s.getBoundingClientRect().width,
  height: s.getBoundingClientRect().height, rects: s.querySelectorAll("rect").length}));
document.body.setAttribute("data-probe", JSON.stringify({
  fetched: performance.getEntriesByType("resource").map(r => r.name), charts,
  overflow: document.documentElement.scrollWidth - window.innerWidth,
  cells: [...document.querySelectorAll("td")].map(td => td.textContent.trim())}));
</script>"""

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")]


def look(page, width: int) -> dict:
    probed = page.with_name("probed.html")
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--window-size={width},900",
                          "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=60).stdout
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, "the browser did not run the probe"
    return json.loads(html_lib.unescape(found.group(1)))


def test_the_html_report_is_one_self_contained_page_with_its_tables_and_charts(known_store, database_url,
                                                                                 monkeypatch, tmp_path):
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    page = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", "--since", WINDOW[0], "--until", WINDOW[1], "--by", "week",
                                      "--html", str(page)], env={"GATEWAY_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert f"wrote {page}" in result.output
    text = page.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "nothing may be fetched from elsewhere"
    seen = look(page, 1200)
    assert seen["fetched"] == []
    charts = {c["label"]: c for c in seen["charts"]}
    assert set(charts) == {"Volume per week", "First reply, business hours", "Customer messages by weekday and hour"}
    assert all(c["width"] > 300 and c["height"] > 100 for c in charts.values()), charts
    # Two weeks of three series plus the legend; seven buckets plus the legend; 7 x 24 hours.
    assert charts["Volume per week"]["rects"] == 2 * 3 + 3
    assert charts["First reply, business hours"]["rects"] == 7 + 1
    assert charts["Customer messages by weekday and hour"]["rects"] == 7 * 24
    cells = seen["cells"]
    assert cells[:4] == ["2026-03-02", "2", "2", "1"] and "2026-03-09" in cells  # week, new, in, out
    assert "machine mail never answered (out-of-office, bounces, lists)" in cells and "outage-x" in cells
    assert "No surveys." in text
    # On a phone the page itself does not scroll sideways: only the wide table does, inside its box.
    assert look(page, 375)["overflow"] <= 0
