"""`gateway inject` as an MTA's pipe transport runs it: a real process, stdin, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlmodel import select

from gateway.models import RawMessage, RawState
from tests.helpers import make_mail, run_until_idle
from tests.test_message import BROKEN_CHARSET

pytestmark = pytest.mark.integration


def inject(database_url: str, data: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "GATEWAY_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "gateway", "inject", *args], input=data, env=env,
                          capture_output=True, timeout=60)


def test_inject_stores_the_message_and_exits_0(database_url, store):
    done = inject(database_url, make_mail(), "--from", "anne@customer.example", "--to", "support@example.com")
    assert done.returncode == 0, done.stderr
    with store.transaction() as tx:
        [row] = tx.exec(select(RawMessage)).all()
    assert (row.source, row.mail_from, row.rcpt_tos) == ("pipe", "anne@customer.example", ["support@example.com"])


def test_inject_exits_65_when_stdin_is_not_mail(database_url, store):
    done = inject(database_url, b"\x89PNG\r\n\x1a\n binary junk")
    assert done.returncode == 65
    assert b"not a mail message" in done.stderr
    with store.transaction() as tx:
        assert tx.exec(select(RawMessage)).all() == []


def test_inject_exits_75_when_the_store_cannot_be_reached_so_the_mta_retries(tmp_path):
    done = inject(f"sqlite:///{tmp_path}/missing-dir/x.db", make_mail())
    assert done.returncode == 75
    assert b"Traceback" not in done.stderr


def test_inject_without_an_envelope_sender_treats_a_person_as_a_person(database_url, store, settings, clock):
    from gateway.pipeline import Processor, Runtime
    from tests.helpers import outbox_items, run_until_idle

    assert inject(database_url, make_mail()).returncode == 0
    run_until_idle(Processor(Runtime(store, settings, "s", clock)).run_once)
    assert len(outbox_items(store)) == 1, "unknown is not the null sender of a bounce"


def test_inject_exits_75_on_a_bad_config_so_the_mta_keeps_the_mail(database_url, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[smtp]\nport = 'x'\n")
    done = inject(database_url, make_mail(), "--config", str(bad))
    assert done.returncode == 75 and b"[smtp] port" in done.stderr and b"Traceback" not in done.stderr


def test_inject_stores_mail_with_a_broken_charset_and_it_is_processed_not_quarantined(database_url, store, processor):
    raw = BROKEN_CHARSET.replace(b"%s", b"utf-8\x00")
    done = inject(database_url, raw, "--from", "anne@customer.example", "--to", "support@example.com")
    assert done.returncode == 0, done.stderr
    run_until_idle(processor.run_once)
    with store.reading() as tx:
        [row] = tx.exec(select(RawMessage)).all()
    assert row.state == RawState.PROCESSED, row.reason
