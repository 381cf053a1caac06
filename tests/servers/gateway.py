"""`gateway serve` as a real process for a test: started on free loopback ports, signalled, and killed after."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import free_port


class Daemon:
    """One `python -m gateway serve` process with its log in a file."""

    started: list[Daemon] = []  # Killed after each test, so a failed one leaves nothing holding the database.

    def __init__(self, database_url: str, relay_port: int, log: Path) -> None:
        self.port, self.web_port = free_port(), free_port()
        self.env = {**os.environ, "GATEWAY_DATABASE_URL": database_url, "GATEWAY_SMTP_PORT": str(self.port),
                    "GATEWAY_WEB_PORT": str(self.web_port),
                    "GATEWAY_RELAY_PORT": str(relay_port), "GATEWAY_MAIL_SECRET": "daemon-secret",
                    # A short relay timeout keeps the PostgreSQL lease takeover within the test's patience.
                    "GATEWAY_RELAY_TIMEOUT": "2s"}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        for _ in range(3):
            with self.log.open("ab") as log:
                # A process group of its own, as under systemd: `signal_group` reaches the worker process too.
                self.process = subprocess.Popen([sys.executable, "-m", "gateway", "serve"], env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)
            Daemon.started.append(self)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    smtplib.SMTP("127.0.0.1", self.port, timeout=1).quit()
                    return
                except OSError:
                    time.sleep(0.05)
            if "address already in use" not in self.log.read_text():
                break
            # A port free when picked was taken meanwhile (by another process's outgoing connection): pick again.
            self.port, self.web_port = free_port(), free_port()
            self.env.update(GATEWAY_SMTP_PORT=str(self.port), GATEWAY_WEB_PORT=str(self.web_port))
        raise AssertionError(f"daemon did not listen: {self.log.read_text()[-2000:]}")

    def signal(self, sig: int) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout=30)

    def signal_group(self, sig: int) -> int:
        """Signal every process of the daemon, as `systemctl stop` does (KillMode=control-group)."""
        assert self.process is not None
        os.killpg(self.process.pid, sig)
        return self.process.wait(timeout=30)

    @classmethod
    def kill_all(cls) -> None:
        """SIGKILL every daemon a test started, with its process group (a worker may outlive its daemon)."""
        for daemon in cls.started:
            if daemon.process is not None:
                try:
                    os.killpg(daemon.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                daemon.process.wait(timeout=30)
        cls.started.clear()


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)
