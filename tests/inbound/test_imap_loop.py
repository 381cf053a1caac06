"""IMAP intake over time, against a real Dovecot: IDLE or polling, and outages survived and logged once."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest
from imapclient import IMAPClient

from gateway.config import ImapSettings
from gateway.inbound.imap_loop import MailboxLoop
from tests.inbound.test_imap import mailbox, put, raws, state, three_mails
from tests.servers.dovecot import PASSWORD, USER, Dovecot

pytestmark = pytest.mark.integration
FAST = ImapSettings(min_backoff=timedelta(milliseconds=50), max_backoff=timedelta(milliseconds=400))


def run_loop(loop: MailboxLoop) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    return stop, thread


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_idle_brings_new_mail_at_once(dovecot, tls_files, store, clock):
    reader = MailboxLoop(mailbox(dovecot, tls_files), ImapSettings(poll_interval=timedelta(hours=1)), store, clock)
    stop, thread = run_loop(reader)
    try:
        wait_for(lambda: state(store, reader.box) is not None)  # The first pass is done...
        time.sleep(0.5)  # ...and it waits in IDLE: with an hour's poll interval only IDLE can bring the mail.
        put(dovecot, three_mails()[0])
        wait_for(lambda: len(raws(store)) == 1, timeout=10)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_without_idle_the_poll_interval_brings_new_mail(tls_files, store, clock):
    server = Dovecot(*tls_files, extra="imap_capability = IMAP4rev1 UIDPLUS MOVE").start()
    try:
        box = mailbox(server, tls_files)
        with IMAPClient("127.0.0.1", server.port, ssl=False) as probe:
            probe.login(USER, PASSWORD)
            assert b"IDLE" not in probe.capabilities()
        reader = MailboxLoop(box, ImapSettings(poll_interval=timedelta(milliseconds=300)), store, clock)
        stop, thread = run_loop(reader)
        try:
            put(server, three_mails()[0])
            wait_for(lambda: len(raws(store)) == 1)
        finally:
            stop.set()
            thread.join(10)
    finally:
        server.close()


def test_an_outage_is_logged_once_and_reading_resumes_when_the_server_is_back(dovecot, tls_files, store, clock,
                                                                             caplog):
    reader = MailboxLoop(mailbox(dovecot, tls_files), FAST, store, clock)
    dovecot.stop()
    with caplog.at_level(logging.INFO, logger="gateway.inbound"):
        stop, thread = run_loop(reader)
        try:
            wait_for(lambda: reader._failures >= 4)
            dovecot.start()
            put(dovecot, three_mails()[0])
            wait_for(lambda: len(raws(store)) == 1)
        finally:
            stop.set()
            thread.join(10)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "cannot connect" in warnings[0].getMessage()
    assert any("reading again after" in r.getMessage() for r in caplog.records)
