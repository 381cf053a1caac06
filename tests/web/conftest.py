"""The rating pages served by the daemon's own web server (Uvicorn on a loopback port) and a real headless
Chromium driven through Debian's chromedriver, with a surveyed conversation to open them on."""

from __future__ import annotations

import asyncio
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway.config import replace
from gateway.web.app import create_app
from gateway.web.server import WebServer
from tests.agents.conftest import Desk, desk, text_of  # noqa: F401 (fixtures used by the tests)
from tests.conftest import SECRET
from tests.helpers import free_port
from tests.surveys.conftest import agent_answers, customer_writes, ref_of

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# What this machine's Chromium needs to start headless as root without reaching for the network.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=375,800")


@dataclass
class Surveyed:
    """A conversation whose survey went out: its ref, the mail, and the links in it."""

    ref: str
    mail: EmailMessage
    links: dict[int, str]  # rating -> link
    optout: str


@pytest.fixture
def desk_settings(settings, relay_sink, tmp_path):
    """The agents' desk settings, with survey links pointing at the test's own web port."""
    port = free_port()
    return replace(settings, relay={"host": "127.0.0.1", "port": relay_sink.port},
                   web={"port": port, "public_url": f"http://127.0.0.1:{port}"}, surveys={"company": "Example Ltd"})


@pytest.fixture
def web(store, desk_settings, clock) -> Iterator[str]:
    """The web server `gateway serve` runs, in a thread with its own event loop; yields its base URL."""
    server = WebServer(create_app(store, desk_settings, SECRET, clock), "127.0.0.1", desk_settings.web.port)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=10)
    yield f"http://127.0.0.1:{server.port}"
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)


def survey_for(desk: Desk, subject: str = "Printer offline") -> Surveyed:
    """A customer writes, Alice answers and closes, a day passes: the survey the customer got."""
    got = customer_writes(desk, subject)
    agent_answers(desk, got["alice"])
    desk.clock.advance(days=1)
    desk.settle()
    (mail,) = [m for m in desk.take() if m["List-Unsubscribe"]]
    text = text_of(mail)
    links = {int(n): url for n, url in re.findall(r"^ +(\d) \w[\w ]*: (\S+)$", text, re.M)}
    return Surveyed(ref_of(mail), mail, links, str(mail["List-Unsubscribe"]).strip().strip("<>"))


@pytest.fixture
def surveyed(desk, web) -> Surveyed:
    return survey_for(desk)


def start_browser(profile: Path, dark: bool = False):  # type: ignore[no-untyped-def]
    """Headless Chromium as a 375 px wide phone, driven by Debian's chromedriver (never a downloaded browser)."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    dark_flags = ("--force-dark-mode", "--blink-settings=preferredColorScheme=0") if dark else ()
    for flag in (*CHROMIUM_FLAGS, *dark_flags, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture(scope="session")
def _browsers(tmp_path_factory) -> Iterator[dict[bool, object]]:
    """One light and (when first asked) one dark Chromium for the whole run: starting one costs seconds."""
    started: dict[bool, object] = {}

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, dark: bool) -> object:
            started[dark] = self[dark] = start_browser(tmp_path_factory.mktemp("chromium"), dark=dark)
            return self[dark]

    yield Lazy()
    for driver in started.values():
        driver.quit()  # type: ignore[attr-defined]


@pytest.fixture
def browser(_browsers):  # type: ignore[no-untyped-def]
    return _browsers[False]


@pytest.fixture(params=[False, True], ids=["light", "dark"])
def any_scheme_browser(request, _browsers):  # type: ignore[no-untyped-def]
    return _browsers[request.param]
