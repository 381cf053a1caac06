"""The SMTP listener, spoken to with smtplib over loopback."""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
import time

import pytest
from sqlmodel import select

import gateway.inbound.accept

from gateway.config import replace
from gateway.errors import StorageError
from gateway.models import RawMessage, RawState
from tests.conftest import listening
from tests.helpers import make_mail, smtp_send

pytestmark = pytest.mark.integration


def raw_rows(store) -> list[RawMessage]:
    with store.transaction() as tx:
        return list(tx.exec(select(RawMessage)).all())


def test_smtp_answers_250_with_the_id_of_a_row_already_committed(smtp_gateway, store):
    with smtplib.SMTP(smtp_gateway.hostname, smtp_gateway.port) as client:
        client.ehlo()
        client.mail("anne@customer.example")
        client.rcpt("support@example.com")
        code, reply = client.data(make_mail())
        # Read the store the moment the 250 arrives: the row must already be there.
        rows = raw_rows(store)
    assert code == 250
    assert reply.decode().startswith(f"2.0.0 Ok: queued as {rows[0].id}")
    assert rows[0].state == RawState.RECEIVED
    assert rows[0].mail_from == "anne@customer.example"
    assert rows[0].rcpt_tos == ["support@example.com"]
    assert b"Subject: Printer offline" in rows[0].raw


def test_smtp_keeps_the_exact_bytes_and_envelope(smtp_gateway, store):
    raw = make_mail(body="caf\u00e9 au lait\n")
    smtp_send(smtp_gateway.hostname, smtp_gateway.port, raw, ["support+vip@example.com", "billing@example.com"])
    row = raw_rows(store)[0]
    assert row.rcpt_tos == ["support+vip@example.com", "billing@example.com"]
    assert row.source == "smtp" and row.peer == "127.0.0.1" and row.size == len(row.raw)


def test_smtp_refuses_recipients_that_are_not_ours_so_it_is_never_an_open_relay(smtp_gateway, store):
    with smtplib.SMTP(smtp_gateway.hostname, smtp_gateway.port) as client:
        client.ehlo()
        client.mail("spammer@example.net")
        code, reply = client.rcpt("victim@elsewhere.example")
    assert (code, reply) == (550, b"5.1.1 No such mailbox here")
    assert raw_rows(store) == []


def test_smtp_accepts_plus_tagged_support_addresses(smtp_gateway):
    with smtplib.SMTP(smtp_gateway.hostname, smtp_gateway.port) as client:
        client.ehlo()
        client.mail("anne@customer.example")
        assert client.rcpt("SUPPORT+abc-def@Example.com")[0] == 250


def test_smtp_refuses_a_message_over_the_size_limit_with_552_5_3_4(settings, store, clock):
    small = replace(settings, smtp={"max_message_size": 2000})
    with listening(small, store, clock) as controller, smtplib.SMTP(controller.hostname, controller.port) as client:
        client.ehlo()
        assert client.has_extn("size")
        client.mail("anne@customer.example")
        client.rcpt("support@example.com")
        code, reply = client.data(make_mail(body=("x" * 70 + "\n") * 80))
    assert (code, reply) == (552, b"5.3.4 Message too big for this system")
    assert raw_rows(store) == []


def test_smtp_offers_8bitmime_and_smtputf8(smtp_gateway, store):
    with smtplib.SMTP(smtp_gateway.hostname, smtp_gateway.port) as client:
        client.ehlo()
        assert client.has_extn("8bitmime") and client.has_extn("smtputf8")
        raw = make_mail(sender="J\u00fcrgen <j\u00fcrgen@b\u00fccher.example>").replace(b"\n", b"\r\n")
        client.sendmail("j\u00fcrgen@b\u00fccher.example", ["support@example.com"], raw,
                        mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    assert raw_rows(store)[0].mail_from == "j\u00fcrgen@b\u00fccher.example"


def test_smtp_answers_451_when_the_store_fails_so_the_sender_retries(smtp_gateway, store, monkeypatch):
    def broken(*args, **kwargs):
        raise StorageError("disk full")

    monkeypatch.setattr("gateway.inbound.accept.accept_many", broken)
    with smtplib.SMTP(smtp_gateway.hostname, smtp_gateway.port) as client:
        client.ehlo()
        client.mail("anne@customer.example")
        client.rcpt("support@example.com")
        code, reply = client.data(make_mail())
    assert (code, reply) == (451, b"4.3.0 Temporary local problem, please try again")
    assert raw_rows(store) == []


def test_smtp_offers_starttls_when_a_certificate_is_configured(settings, store, clock, tls_files):
    cert, key = tls_files
    with_tls = replace(settings, smtp={"tls_cert": cert, "tls_key": key})
    with listening(with_tls, store, clock) as controller, smtplib.SMTP(controller.hostname, controller.port) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        client.starttls(context=ssl.create_default_context(cafile=cert))
        client.sendmail("anne@customer.example", ["support@example.com"], make_mail())
    assert len(raw_rows(store)) == 1


def test_a_raw_8bit_envelope_sender_is_stored_and_costs_nobody_else_their_250(smtp_gateway, store):
    # smtplib cannot send raw 8-bit commands; speak the bytes ourselves, as a broken client would.
    raw_client = smtplib.SMTP(smtp_gateway.hostname, smtp_gateway.port)
    raw_client.ehlo()
    raw_client.sock.sendall(b"MAIL FROM:<j\xfcrgen@example.org>\r\n")
    assert raw_client.getreply()[0] == 250
    assert raw_client.rcpt("support@example.com")[0] == 250
    assert raw_client.data(make_mail())[0] == 250
    raw_client.quit()
    smtp_send(smtp_gateway.hostname, smtp_gateway.port, make_mail(message_id="<other@x>"), ["support@example.com"])
    rows = raw_rows(store)
    assert len(rows) == 2 and rows[0].mail_from == "j\ufffdrgen@example.org"


@pytest.mark.integration
def test_a_client_that_hangs_up_while_its_mail_is_committed_costs_nobody_else_their_250(
        settings, store, clock, monkeypatch):
    entered, release = threading.Event(), threading.Event()
    real = gateway.inbound.accept.accept_many

    def slow_accept_many(items, **kwargs):  # type: ignore[no-untyped-def]  # a commit that takes a moment (fsync)
        entered.set()
        release.wait(5)
        return real(items, **kwargs)

    monkeypatch.setattr(gateway.inbound.accept, "accept_many", slow_accept_many)
    with listening(settings, store, clock) as gateway_smtp:
        with socket.create_connection((gateway_smtp.hostname, gateway_smtp.port)) as sock:
            replies = sock.makefile("rb")
            replies.readline()
            for line in (b"EHLO x", b"MAIL FROM:<anne@customer.example>", b"RCPT TO:<support@example.com>", b"DATA"):
                sock.sendall(line + b"\r\n")
                while replies.readline()[3:4] == b"-":
                    pass
            sock.sendall(make_mail() + b"\r\n.\r\n")
            assert entered.wait(5)
            replies.close()
        time.sleep(0.3)  # aiosmtpd sees the hang-up and cancels that session's wait for the commit.
        release.set()
        with smtplib.SMTP(gateway_smtp.hostname, gateway_smtp.port, timeout=10) as client:
            client.ehlo()
            client.mail("bob@customer.example")
            client.rcpt("support@example.com")
            code, _ = client.data(make_mail(sender="bob@customer.example", message_id="<b@customer.example>"))
    assert code == 250
    with store.reading() as tx:  # The one who hung up was stored all the same.
        assert len(tx.exec(select(RawMessage.id)).all()) == 2
