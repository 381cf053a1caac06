"""The same message is stored once, however many times and ways it arrives."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from gateway.message import parse
from gateway.threading.dedupe import content_hash
from gateway.models import RawMessage, RawState
from tests.helpers import CORPORA, conversations, deliver, make_mail, messages, outbox_items


def raw_states(store) -> list[str]:
    with store.transaction() as tx:
        return list(tx.exec(select(RawMessage.state).order_by(RawMessage.id)).all())


def test_a_redelivered_message_is_stored_once(processor, store):
    deliver(processor, make_mail())
    deliver(processor, make_mail())
    assert raw_states(store) == [RawState.PROCESSED, RawState.DUPLICATE]
    assert len(messages(store)) == 2  # the customer's mail and our acknowledgement
    assert len(outbox_items(store)) == 1


def test_a_message_sent_to_two_support_addresses_is_one_message_recording_both(processor, store):
    deliver(processor, make_mail(to="support@example.com"), rcpts=("support@example.com",))
    deliver(processor, make_mail(to="support@example.com"), rcpts=("billing@example.com",))
    [incoming] = [m for m in messages(store) if m.direction == "in"]
    assert {"support@example.com", "billing@example.com"} <= set(incoming.recipients)
    assert len(conversations(store)) == 1


def test_the_same_message_by_smtp_and_by_the_pipe_is_stored_once(processor, store):
    deliver(processor, make_mail(), source="smtp")
    # A copy fetched elsewhere gains trace headers and loses CRLF; it is still the same message.
    copy = b"Received: from mx by imap; Mon, 2 Mar 2026 09:01:00 +0000\n" + make_mail().replace(b"\r\n", b"\n")
    deliver(processor, copy, source="pipe")
    assert raw_states(store) == [RawState.PROCESSED, RawState.DUPLICATE]


def test_a_message_without_message_id_is_recognised_by_its_content(processor, store):
    deliver(processor, make_mail(message_id=None))
    deliver(processor, make_mail(message_id=None))
    assert raw_states(store) == [RawState.PROCESSED, RawState.DUPLICATE]
    assert [m.message_key.startswith("hash:") for m in messages(store) if m.direction == "in"] == [True]



def test_two_people_sending_the_same_words_with_no_from_address_are_two_messages(processor, store):
    same = re.sub(rb"^From: [^\r\n]*\r\n", b"", make_mail(message_id=None), flags=re.M)
    deliver(processor, same, mail_from="gina@cust-e.example")
    deliver(processor, same, mail_from="hank@cust-f.example")
    deliver(processor, same, mail_from="hank@cust-f.example")  # and Hank's own copy again is a duplicate
    assert raw_states(store) == [RawState.PROCESSED, RawState.PROCESSED, RawState.DUPLICATE]
    assert sorted(i.recipient for i in outbox_items(store)) == ["gina@cust-e.example", "hank@cust-f.example"]

def test_another_message_reusing_a_known_message_id_is_kept_not_dropped(processor, store):
    deliver(processor, make_mail())
    deliver(processor, make_mail(sender="Mallory <mallory@evil.example>", body="something else entirely\n"))
    incoming = [m for m in messages(store) if m.direction == "in"]
    assert len(incoming) == 2
    assert "MessageIdReused" in incoming[1].defects


def test_the_crlf_twins_of_the_sisimai_corpus_are_stored_once_each(processor, store):
    corpus = CORPORA / "sisimai-set-of-emails" / "maildir"
    if not corpus.is_dir():
        pytest.skip("../shared/corpora/sisimai-set-of-emails is not present")
    twins = sorted(p for p in (corpus / "dos").iterdir() if (corpus / "bsd" / p.name).exists()
                   and parse(p.read_bytes()).message_id
                   and parse(p.read_bytes()).message_id == parse((corpus / "bsd" / p.name).read_bytes()).message_id)
    assert len(twins) == 61
    for path in twins:
        deliver(processor, (corpus / "bsd" / path.name).read_bytes(), mail_from="")
        deliver(processor, path.read_bytes(), mail_from="")
    # Every CRLF copy is a duplicate. Among the LF files, rhost-outlook-01 is lhost-outlook-01 under another
    # name (stored once), and two different bounces share one Message-ID (both kept).
    assert raw_states(store)[1::2] == [RawState.DUPLICATE] * 61
    distinct = {(m.message_id, content_hash(m)) for m in (parse(p.read_bytes()) for p in twins)}
    assert len(messages(store)) == len(distinct) == 60
    assert outbox_items(store) == []
