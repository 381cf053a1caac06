"""The shipped customer mails' HTML in a real browser (headless Chromium): fits a phone, readable in dark mode."""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gateway.templating.render import render_source
from gateway.templating.samples import sample_variable_sets
from gateway.templating.source import shipped

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE = "375,800"  # an iPhone SE's CSS width
# Measures what a reader sees: horizontal overflow, and the colour of every element that holds text.
PROBE = """<script>
const colours = [...document.body.querySelectorAll("*")]
  .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
  .map(e => getComputedStyle(e).color);
document.body.setAttribute("data-probe", JSON.stringify({
  overflow: document.documentElement.scrollWidth - window.innerWidth, colours,
  dark: matchMedia("(prefers-color-scheme: dark)").matches}));
</script>"""

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")]


def luminance(colour: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", colour)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def look(html: str, tmp_path: Path, dark: bool) -> dict[str, object]:
    page = tmp_path / "mail.html"
    page.write_text(html.replace("</body>", PROBE + "</body>") if "</body>" in html else html + PROBE)
    flags = ["--force-dark-mode", "--blink-settings=preferredColorScheme=0"] if dark else []
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--window-size={PHONE}",
                          *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=60).stdout
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, "the browser did not run the probe"
    return json.loads(html_lib.unescape(found.group(1)))


CASES = [(name, case, variables) for name in ("acknowledgement", "acknowledgement.beta", "acknowledgement.de", "survey",
                                             "survey.de")
         for case, variables in sample_variable_sets(name)]


@pytest.mark.parametrize(("name", "case", "variables"), CASES, ids=[f"{n}: {c}" for n, c, _ in CASES])
def test_customer_mail_fits_a_phone_and_stays_readable_in_dark_mode(name, case, variables, tmp_path) -> None:
    found = shipped(name)
    assert found is not None
    html = render_source(found, variables).html
    light, dark = look(html, tmp_path, dark=False), look(html, tmp_path, dark=True)
    assert dark["dark"] and not light["dark"]
    assert light["overflow"] <= 0 and dark["overflow"] <= 0, "wider than a phone's screen"
    # No colour is forced: every bit of text is dark on the light canvas and light on the dark one.
    assert all(luminance(c) < 0.5 for c in light["colours"]), light["colours"]
    assert all(luminance(c) > 0.5 for c in dark["colours"]), dark["colours"]
