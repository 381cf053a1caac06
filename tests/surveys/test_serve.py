"""`gateway serve` as a real process: it serves the survey pages and /healthz, and a survey scheduled before a
SIGKILL goes out once after the restart."""

from __future__ import annotations

import email
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from email.policy import default

import pytest
from sqlmodel import select

from gateway.models import Agent, Scheduled, ScheduledState, Survey
from tests.helpers import make_mail
from tests.servers.gateway import Daemon, wait_for

pytestmark = pytest.mark.integration


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_serve_answers_healthz_and_survey_links_on_the_web_port(database_url, store, relay_sink, tmp_path) -> None:
    daemon = Daemon(database_url, relay_sink.port, tmp_path / "daemon.log")
    daemon.start()
    try:
        assert get(f"http://127.0.0.1:{daemon.web_port}/healthz") == (200, "ok\n")
        status, page = get(f"http://127.0.0.1:{daemon.web_port}/survey/not-a-token")
        assert status == 404 and "This link doesn&#39;t work" in page
    finally:
        assert daemon.signal(signal.SIGTERM) == 0
    log = daemon.log.read_text()
    assert f"serving survey pages and /healthz on http://127.0.0.1:{daemon.web_port}" in log
    assert "Traceback" not in log and log.rstrip().endswith("stopped")


def test_serve_refuses_a_busy_web_port_in_one_line(database_url, store, relay_sink, tmp_path) -> None:
    daemon = Daemon(database_url, relay_sink.port, tmp_path / "daemon.log")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", daemon.web_port))
        busy.listen()
        done = subprocess.run([sys.executable, "-m", "gateway", "serve"], capture_output=True, timeout=60,
                              env=daemon.env)
    errors = [line for line in done.stderr.decode().splitlines() if line.startswith("error:")]
    assert done.returncode == 1 and len(errors) == 1
    assert f"[web] cannot listen on 127.0.0.1:{daemon.web_port}" in errors[0] and "GATEWAY_WEB_PORT" in errors[0]


def received(sink, kind: str) -> list[email.message.EmailMessage]:
    mails = [email.message_from_bytes(r.raw, policy=default) for r in sink.handler.received]
    return [m for m in mails if (kind == "survey") == bool(m["List-Unsubscribe"]) and (
        kind != "notification" or "alice@example.com" in str(m["To"]))]


def test_a_survey_scheduled_before_a_sigkill_goes_out_once_after_the_restart(database_url, store, relay_sink,
                                                                               tmp_path) -> None:
    with store.transaction() as tx:
        tx.add(Agent(address="alice@example.com", name="Alice"))
    daemon = Daemon(database_url, relay_sink.port, tmp_path / "daemon.log")
    daemon.env["GATEWAY_SURVEYS_DELAY"] = "2s"
    daemon.env["GATEWAY_WEB_PUBLIC_URL"] = f"http://127.0.0.1:{daemon.web_port}"
    daemon.start()
    with smtplib.SMTP("127.0.0.1", daemon.port) as client:
        client.sendmail("anne@customer.example", ["support@example.com"], make_mail())
    wait_for(lambda: received(relay_sink, "notification"))
    (notification,) = received(relay_sink, "notification")
    token = notification["Reply-To"].addresses[0].addr_spec
    reply = (f"From: Alice <alice@example.com>\r\nTo: {token}\r\nSubject: Re: {notification['Subject']}\r\n"
             f"Message-ID: <alice-1@example.com>\r\nIn-Reply-To: {notification['Message-ID']}\r\n\r\n"
             "#close\r\n\r\nPlease restart it; that fixes it.\r\n").encode()
    with smtplib.SMTP("127.0.0.1", daemon.port) as client:
        client.sendmail("alice@example.com", [token], reply)

    def scheduled() -> list[Scheduled]:
        with store.reading() as tx:
            return list(tx.exec(select(Scheduled).where(Scheduled.kind == "survey")).all())

    wait_for(lambda: scheduled())
    daemon.signal(signal.SIGKILL)
    assert [row.state for row in scheduled()] == [ScheduledState.PENDING], "killed before it was due"
    time.sleep(2.5)
    daemon.start()
    try:
        wait_for(lambda: received(relay_sink, "survey"), timeout=60)
        time.sleep(1.0)
    finally:
        assert daemon.signal(signal.SIGTERM) == 0
    (survey,) = received(relay_sink, "survey")
    assert survey["Auto-Submitted"] == "auto-generated" and "anne@customer.example" in str(survey["To"])
    with store.reading() as tx:
        assert len(tx.exec(select(Survey)).all()) == 1
    assert [row.state for row in scheduled()] == [ScheduledState.DONE]
