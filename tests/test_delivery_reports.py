"""Bounces about mail we sent: tied to its conversation as a delivery problem, shown by the CLI, never answered."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.delivery_report import ADDRESS, read_report
from gateway.message import parse
from gateway.models import Customer, Message, Note, OutboxItem
from gateway.reply_token import bounce_address
from tests.conftest import SECRET
from tests.helpers import CORPORA, MAIL, conversations, deliver, make_mail, outbox_items, run_until_idle

ANNE = "anne@customer.example"


def acknowledged(processor, store) -> OutboxItem:
    deliver(processor, make_mail())
    [ack] = outbox_items(store)
    return ack


def dsn_about(item: OutboxItem, action: str = "failed", status: str = "5.1.1") -> bytes:
    """Postfix's real DSN (tests/mail/postfix_dsn.eml), about our mail to Anne."""
    raw = (MAIL / "postfix_dsn.eml").read_bytes()
    raw = raw.replace(b"anne.berger@customer.example", ANNE.encode())
    raw = raw.replace(b"<k7m2qx9p.mzxw6ytb.5e6f7a8b1a2b3c4d@example.com>", item.message_id.encode())
    return raw.replace(b"Action: failed", f"Action: {action}".encode()).replace(
        b"Status: 5.1.1", f"Status: {status}".encode())


def notes(store) -> list[Note]:
    with store.reading() as tx:
        return list(tx.exec(select(Note)).all())


def bounced_at(store):
    with store.reading() as tx:
        return tx.exec(select(Customer.bounced_at).where(Customer.address == ANNE)).one()


def test_a_dsn_about_our_acknowledgement_is_a_delivery_problem_on_its_conversation(processor, store, clock):
    ack = acknowledged(processor, store)
    [conversation] = conversations(store)
    deliver(processor, dsn_about(ack), mail_from="")
    assert len(conversations(store)) == 1  # no conversation opened
    assert len(outbox_items(store)) == 1  # and nothing sent: no auto-reply to a bounce
    [note] = notes(store)
    assert note.kind == "delivery_failed" and note.conversation_id == conversation.id
    assert ack.message_id in note.body and ANNE in note.body and "5.1.1" in note.body
    assert "permanent" in note.body and "60 days" in note.body
    assert bounced_at(store) == clock()
    with store.reading() as tx:
        bounce = tx.exec(select(Message).where(Message.kind == "bounce")).one()
    assert (bounce.conversation_id, bounce.matched_by) == (conversation.id, "delivery-report")


def test_a_dsn_about_our_mail_to_anne_cannot_silence_another_customer_it_lists(processor, store, clock):
    deliver(processor, make_mail(sender="Bob <bob@customer.example>", subject="Invoice wrong",
                                 message_id="<bob-1@customer.example>"), mail_from="bob@customer.example")
    deliver(processor, make_mail())
    [ack] = [i for i in outbox_items(store) if i.rcpt_tos == [ANNE]]
    # Anyone who saw our Message-ID can write a DSN about it, listing whom they like beside its recipient.
    bob = (b"\nFinal-Recipient: rfc822; bob@customer.example\nOriginal-Recipient: rfc822;bob@customer.example\n"
           b"Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <bob@customer.example>: User unknown\n")
    raw = dsn_about(ack)
    end_of_anne = raw.index(b"\n--", raw.index(b"Final-Recipient: rfc822; " + ANNE.encode()))
    forged = raw[:end_of_anne] + b"\n" + bob + raw[end_of_anne:]
    assert {p.address for p in read_report(parse(forged), forged).problems} == {ANNE, "bob@customer.example"}
    deliver(processor, forged, mail_from="")
    with store.reading() as tx:
        bounced = dict(tx.exec(select(Customer.address, Customer.bounced_at)).all())
    assert bounced == {ANNE: clock(), "bob@customer.example": None}
    assert notes(store) and all(" to bob@customer.example " not in n.body for n in notes(store))


def test_a_delay_notice_is_recorded_as_temporary_and_suppresses_nothing(processor, store):
    ack = acknowledged(processor, store)
    deliver(processor, dsn_about(ack, action="delayed", status="4.4.1"), mail_from="")
    [note] = notes(store)
    assert note.kind == "delivery_delayed" and "4.4.1" in note.body and "keeps trying" in note.body
    assert bounced_at(store) is None


def test_a_plain_text_bounce_to_our_verp_address_names_the_conversation(processor, store, clock):
    acknowledged(processor, store)
    [conversation] = conversations(store)
    verp = bounce_address(SECRET, "support@example.com", conversation.ref)
    qmail = (b"From: MAILER-DAEMON@mx.customer.example\r\nTo: " + verp.encode() + b"\r\n"
             b"Subject: failure notice\r\nMessage-ID: <qmail-1@mx.customer.example>\r\n\r\n"
             b"Hi. This is the qmail-send program at mx.customer.example.\r\n"
             b"I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
             b"This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
             b"<anne@customer.example>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n")
    deliver(processor, qmail, rcpts=(verp,), mail_from="")
    [note] = notes(store)
    assert note.kind == "delivery_failed" and ANNE in note.body and "5.1.1" in note.body
    assert bounced_at(store) == clock()


def test_a_bounce_about_mail_we_never_sent_is_kept_but_tied_to_nothing(processor, store):
    acknowledged(processor, store)
    raw = (MAIL / "postfix_dsn.eml").read_bytes().replace(b"anne.berger@customer.example", ANNE.encode())
    deliver(processor, raw, mail_from="")
    assert notes(store) == [] and bounced_at(store) is None and len(conversations(store)) == 1


def test_conversations_show_lists_the_delivery_problem(processor, store, database_url, monkeypatch):
    ack = acknowledged(processor, store)
    deliver(processor, dsn_about(ack), mail_from="")
    [conversation] = conversations(store)
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    env = {"GATEWAY_DATABASE_URL": database_url}
    shown = CliRunner().invoke(app, ["conversations", "show", conversation.ref], env=env)
    assert shown.exit_code == 0, shown.output
    assert "delivery failed" in shown.output.lower() and ANNE in shown.output and "5.1.1" in shown.output
    as_json = json.loads(CliRunner().invoke(app, ["conversations", "show", conversation.ref, "--json"],
                                            env=env).output)
    assert [n["kind"] for n in as_json["notes"]] == ["delivery_failed"]


def test_an_acknowledgement_the_relay_took_but_that_bounced_is_shown_and_counted_as_bounced(
        processor, relay_sender, relay_sink, store, database_url, monkeypatch, clock):
    ack = acknowledged(processor, store)
    run_until_idle(relay_sender.run_once)
    assert len(relay_sink.handler.received) == 1
    deliver(processor, dsn_about(ack), mail_from="")
    with store.reading() as tx:
        item = tx.get(OutboxItem, ack.id)
    assert item.status == "bounced" and ANNE in item.last_error and "5.1.1" in item.last_error
    [conversation] = conversations(store)
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    env = {"GATEWAY_DATABASE_URL": database_url, "COLUMNS": "200"}
    shown = CliRunner().invoke(app, ["conversations", "show", conversation.ref], env=env)
    assert "[bounced: " in shown.output and "[sent]" not in shown.output, shown.output
    listed = CliRunner().invoke(app, ["queue", "list", "--state", "bounced", "--json"], env=env)
    assert [json.loads(line)["id"] for line in listed.output.splitlines()] == [ack.id], listed.output
    day = clock().date()
    report = CliRunner().invoke(app, ["report", "--since", str(day), "--until", str(day + timedelta(days=1)),
                                      "--json"], env=env)
    assert json.loads(report.output)["auto_replies"]["failed"] == 1, report.output


def test_a_delay_notice_leaves_sent_mail_sent(processor, relay_sender, store):
    ack = acknowledged(processor, store)
    run_until_idle(relay_sender.run_once)
    deliver(processor, dsn_about(ack, action="delayed", status="4.4.1"), mail_from="")
    with store.reading() as tx:
        assert tx.get(OutboxItem, ack.id).status == "sent"

# -- the public corpus -------------------------------------------------------------------------------------

# Where a DSN gives the recipient: Original-Recipient (the address the mail was sent to) or Final-Recipient.
_GIVEN = re.compile(rb"^[> ]*(?:final|original)-recipient\s*:\s*rfc/?822\s*;\s*<?([^\s<>]+@[^\s<>]+?)>?\s*$",
                    re.I | re.M)


def sisimai_bounces() -> list[str]:
    labels = CORPORA / "sisimai-set-of-emails" / "labels.json"
    if not labels.is_file():
        pytest.skip(f"sisimai-set-of-emails corpus not found at {labels.parent}")
    return [f["file"] for f in json.loads(labels.read_text())["files"] if f["gateway_class"] == "bounce"]


def test_every_sisimai_bounce_is_read_and_the_recipient_a_dsn_gives_is_found():
    folder = CORPORA / "sisimai-set-of-emails"
    verdicts: Counter[str] = Counter()
    missed = []
    for name in sisimai_bounces():
        raw = (folder / name).read_bytes()
        report = read_report(parse(raw), raw)
        assert report.problems, name  # every bounce is classified: failed (hard or not) or delayed
        verdicts["hard" if any(p.permanent for p in report.problems) else report.problems[0].action] += 1
        given = {m.decode().lower() for m in _GIVEN.findall(raw.replace(b"\r", b"\n"))
                 if ADDRESS.fullmatch(m.decode().lower())}
        if given and not {p.address for p in report.problems} & given:
            missed.append(name)
    print(f"sisimai bounces: {sum(verdicts.values())} read: {dict(verdicts)}")
    assert sum(verdicts.values()) == 802
    assert missed == []
