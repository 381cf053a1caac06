"""The whole path: SMTP in, conversation, outbox, relay out."""

from __future__ import annotations

import re
from contextlib import contextmanager
from email import message_from_bytes
from email.policy import default

import pytest
from sqlmodel import select

from gateway.config import replace
from gateway.inbound.accept import Envelope, accept
from gateway.models import Conversation, Customer, RawMessage, RawState
from gateway.pipeline import Processor
from gateway.reply_token import ref_from_address, ref_from_message_id
from gateway.runtime import Runtime
from tests.conftest import SECRET
from tests.helpers import (conversations, deliver, load_raw, make_mail, messages, outbox_items, run_until_idle,
                           smtp_send)


@pytest.mark.integration
def test_customer_mail_over_smtp_gets_one_threaded_acknowledgement_through_the_relay(
        smtp_gateway, processor, relay_sender, relay_sink, store):
    smtp_send(smtp_gateway.hostname, smtp_gateway.port, make_mail(), ["support@example.com"])
    run_until_idle(processor.run_once, relay_sender.run_once)

    [conversation] = conversations(store)
    [received] = relay_sink.handler.received
    ack = message_from_bytes(received.raw, policy=default)
    assert received.mail_from == "<>" and received.rcpt_tos == ["anne@customer.example"]
    assert ack["To"] == "Anne Example <anne@customer.example>"
    assert ack["From"] == "Support <support@example.com>"
    assert ack["Subject"] == f"Re: Printer offline [#{conversation.ref}]"
    assert ack["In-Reply-To"] == "<req-1@customer.example>"
    assert ack["References"] == "<req-1@customer.example>"
    assert ref_from_address(SECRET, ack["Reply-To"].addresses[0].addr_spec) == conversation.ref
    assert ref_from_message_id(SECRET, ack["Message-ID"]) == conversation.ref
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["X-Auto-Response-Suppress"] == "All"
    assert ack["X-Gateway-Loop"] == "support@example.com"
    text = ack.get_body(("plain",)).get_content()
    assert conversation.ref in text and "Hi Anne," in text


@pytest.mark.integration
def test_out_of_office_reply_over_smtp_gets_no_acknowledgement(
        smtp_gateway, processor, relay_sender, relay_sink, store):
    ooo = make_mail(subject="Automatic reply: Your order", Auto_Submitted="auto-replied")
    smtp_send(smtp_gateway.hostname, smtp_gateway.port, ooo, ["support@example.com"], mail_from="")
    run_until_idle(processor.run_once, relay_sender.run_once)
    assert relay_sink.handler.received == []
    assert conversations(store) == []
    assert [m.kind for m in messages(store)] == ["auto_reply"]


@pytest.mark.integration
def test_a_contact_forms_mail_over_smtp_opens_a_conversation_with_its_visitor_who_gets_the_acknowledgement(
        smtp_gateway, settings, clock, relay_sender, relay_sink, store):
    forms = Processor(Runtime(store, replace(settings, classify={"forms": ("@shop.example",)}), SECRET, clock))
    smtp_send(smtp_gateway.hostname, smtp_gateway.port, load_raw("contact_form_wordpress.eml"),
              ["support@example.com"], mail_from="wordpress@shop.example")
    run_until_idle(forms.run_once, relay_sender.run_once)

    [conversation] = conversations(store)
    [request] = messages(store)[:1]
    assert (request.sender, request.sender_name) == ("anne@customer.example", "Anne Example")
    [received] = relay_sink.handler.received
    ack = message_from_bytes(received.raw, policy=default)
    assert received.rcpt_tos == ["anne@customer.example"] and ack["To"] == "Anne Example <anne@customer.example>"
    assert "Hi Anne," in ack.get_body(("plain",)).get_content()

    answer = make_mail(subject=f"Re: {ack['Subject']}", to=ack["Reply-To"], message_id="<answer@customer.example>",
                       In_Reply_To=ack["Message-ID"])
    smtp_send(smtp_gateway.hostname, smtp_gateway.port, answer, [ack["Reply-To"].addresses[0].addr_spec])
    run_until_idle(forms.run_once, relay_sender.run_once)
    assert [m.conversation_id for m in messages(store) if m.direction == "in"] == [conversation.id] * 2


def test_an_allow_listed_customers_out_of_office_with_a_null_sender_gets_no_acknowledgement(store, settings, clock):
    allowed = Processor(Runtime(store, replace(settings, classify={"allow": ("@customer.example",)}), SECRET, clock))
    ooo = make_mail(subject="Out of office: Printer offline", Auto_Submitted="auto-replied")
    deliver(allowed, ooo, mail_from="")
    assert outbox_items(store) == [] and [m.kind for m in messages(store)] == ["auto_reply"]


def test_a_batch_is_one_transaction_while_no_other_writer_waits(processor, store, monkeypatch):
    def store_mails(numbers: range) -> None:
        for i in numbers:
            accept(make_mail(message_id=f"<m{i}@x>", subject=f"Question {i}"),
                   Envelope("anne@customer.example", ("support@example.com",), "127.0.0.1", "smtp"),
                   store=store, now=processor.rt.clock())

    store_mails(range(5))
    commits: list[int] = []
    real_transaction = store.transaction

    @contextmanager
    def counted(durable: bool = True):
        with real_transaction(durable) as tx:
            yield tx
        commits.append(1)

    monkeypatch.setattr(store, "transaction", counted)
    monkeypatch.setattr(Processor, "HOLD", 0)
    monkeypatch.setattr(store, "anyone_waiting", lambda: False)
    assert processor.run_once() == 5
    assert len(commits) == 1
    store_mails(range(5, 8))
    commits.clear()
    monkeypatch.setattr(store, "anyone_waiting", lambda: True)  # SMTP's commit waits: one message at a time
    assert processor.run_once() == 3
    assert len(commits) == 3


def test_processing_the_same_stored_message_again_changes_nothing(processor, store):
    raw_id = deliver(processor, make_mail())
    processor.process(raw_id)
    with store.transaction() as tx:
        # Even a message put back to RECEIVED (a crash before its state was saved) is not handled twice.
        tx.get(RawMessage, raw_id).state = RawState.RECEIVED
    run_until_idle(processor.run_once)
    assert len(conversations(store)) == 1
    assert len(outbox_items(store)) == 1
    assert len([m for m in messages(store) if m.direction == "in"]) == 1


def test_a_message_that_breaks_processing_is_quarantined_and_the_queue_goes_on(processor, store, monkeypatch):
    import gateway.pipeline

    real_parse = gateway.pipeline.parse

    def parse(raw: bytes):
        if b"poison" in raw:
            raise RuntimeError("bug in a stage")
        return real_parse(raw)

    monkeypatch.setattr(gateway.pipeline, "parse", parse)
    bad = deliver(processor, make_mail(subject="poison", message_id="<p@x>"))
    deliver(processor, make_mail(message_id="<fine@x>"))
    with store.transaction() as tx:
        row = tx.get(RawMessage, bad)
    assert (row.state, row.stage) == (RawState.QUARANTINED, "process")
    assert "bug in a stage" in row.reason
    assert len(conversations(store)) == 1


def test_mail_from_our_own_address_is_quarantined_as_a_loop_and_never_answered(processor, store):
    raw_id = deliver(processor, make_mail(sender="Support <support@example.com>"))
    with store.transaction() as tx:
        row = tx.get(RawMessage, raw_id)
    assert row.state == RawState.QUARANTINED and row.reason.startswith("loop")
    assert outbox_items(store) == [] and conversations(store) == []


def without_from(raw: bytes, replacement: bytes = b"") -> bytes:
    return re.sub(rb"^From: [^\r\n]*\r?\n", replacement, raw, count=1, flags=re.M)


def test_mail_with_no_from_address_belongs_to_its_envelope_sender_each_their_own(processor, store):
    deliver(processor, without_from(make_mail(subject="Printer", message_id="<n1@x>")), mail_from="hank@one.example")
    deliver(processor, without_from(make_mail(subject="Invoice", message_id="<n2@x>"), b"From: just a name\r\n"),
            mail_from="ian@other.example")
    with store.reading() as tx:
        owners = dict(tx.exec(select(Conversation.subject, Customer.address).join(Customer)).all())
        linked = tx.exec(select(Conversation.linked_to_id)).all()
    assert owners == {"Printer": "hank@one.example", "Invoice": "ian@other.example"} and linked == [None, None]
    assert sorted(i.recipient for i in outbox_items(store)) == ["hank@one.example", "ian@other.example"]


def test_mail_that_names_no_sender_anywhere_is_quarantined_not_answered(processor, store):
    raw_id = deliver(processor, without_from(make_mail()), mail_from=None)  # a pipe without --from
    with store.reading() as tx:
        row = tx.get(RawMessage, raw_id)
    assert (row.state, row.stage) == (RawState.QUARANTINED, "classify") and "no sender address" in row.reason
    assert outbox_items(store) == [] and conversations(store) == []


def test_our_own_acknowledgement_coming_back_is_a_loop(processor, store):
    deliver(processor, make_mail())
    [ack] = outbox_items(store)
    raw_id = deliver(processor, ack.raw, mail_from="")
    with store.transaction() as tx:
        assert tx.get(RawMessage, raw_id).state == RawState.QUARANTINED
    assert len(outbox_items(store)) == 1


def test_an_unmatched_bounce_is_kept_but_opens_no_conversation(processor, store):
    deliver(processor, make_mail(sender="MAILER-DAEMON@mx.example.net", subject="Undelivered Mail Returned to Sender",
                                 message_id="<b1@mx>"), mail_from="")
    assert conversations(store) == [] and outbox_items(store) == []
    [kept] = messages(store)
    assert kept.kind == "bounce" and kept.conversation_id is None


def test_a_bounce_of_our_acknowledgement_joins_its_conversation_and_gets_no_answer(processor, store):
    deliver(processor, make_mail())
    [ack] = outbox_items(store)
    bounce = make_mail(sender="MAILER-DAEMON@mx.customer.example", subject="Undelivered Mail Returned to Sender",
                       message_id="<b2@mx>", In_Reply_To=ack.message_id)
    deliver(processor, bounce, mail_from="")
    [conversation] = conversations(store)
    assert [(m.kind, m.conversation_id) for m in messages(store)][-1] == ("bounce", conversation.id)
    assert len(outbox_items(store)) == 1


def test_every_raw_message_ends_processed_duplicate_or_quarantined(processor, store):
    for i in range(5):
        deliver(processor, make_mail(message_id=f"<m{i}@x>", subject=f"Question {i}"))
    with store.transaction() as tx:
        states = set(tx.exec(select(RawMessage.state)).all())
    assert states == {RawState.PROCESSED}


def test_a_mail_without_message_id_gets_an_acknowledgement_without_empty_threading_headers(processor, store):
    deliver(processor, make_mail(message_id=None))
    [ack] = outbox_items(store)
    headers = message_from_bytes(ack.raw, policy=default)
    assert headers["In-Reply-To"] is None and headers["References"] is None


def test_a_passing_database_error_leaves_the_message_for_the_next_pass_instead_of_quarantining_it(
        processor, store, monkeypatch):
    import gateway.pipeline
    from sqlalchemy.exc import OperationalError

    from gateway.errors import StorageError
    from gateway.inbound.accept import Envelope, accept

    def unwell(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    raw_id = accept(make_mail(), Envelope("a@x", ("support@example.com",), "", "smtp"), store=store,
                    now=processor.rt.clock())
    monkeypatch.setattr(gateway.pipeline, "process_in", unwell)
    with pytest.raises(StorageError):
        processor.run_once()
    with store.transaction() as tx:
        assert tx.get(RawMessage, raw_id).state == RawState.RECEIVED


def test_broken_ids_and_an_international_address_are_flagged_not_quarantined(processor, store):
    from gateway.models import Note

    raw = make_mail(sender="Jos\u00e9 <jos\u00e9@caf\u00e9.example>", message_id=None).replace(
        b"Subject:", b"References: <caf\xe9@x> <" + b"y" * 1200 + b"@x>\r\nSubject:")
    raw_id = deliver(processor, raw)
    with store.transaction() as tx:
        assert tx.get(RawMessage, raw_id).state == RawState.PROCESSED
        [note] = tx.exec(select(Note)).all()
    assert note.kind == "not_acknowledged"
    assert outbox_items(store) == []


def _senders_busy(monkeypatch) -> None:
    """Every sender's lock is held by another gateway, as `hold_until_commit` finds on PostgreSQL."""
    import gateway.pipeline

    monkeypatch.setattr(gateway.pipeline, "hold_until_commit", lambda tx, key: False)


def test_a_batch_where_every_message_waits_for_another_gateway_counts_as_no_work(processor, store, monkeypatch):
    from gateway.inbound.accept import Envelope, accept

    for n, sender in enumerate(("anne@customer.example", "bob@customer.example")):
        accept(make_mail(sender=sender, message_id=f"<wait-{n}@customer.example>"),
               Envelope(sender, ("support@example.com",), "", "smtp"), store=store, now=processor.rt.clock())
    _senders_busy(monkeypatch)
    assert processor.run_once() == 0
    with store.reading() as tx:
        assert set(tx.exec(select(RawMessage.state)).all()) == {RawState.RECEIVED}
    monkeypatch.undo()  # The other gateway is done with them.
    assert processor.run_once() == 2
    assert processor.run_once() == 0


def test_the_processor_worker_waits_for_a_wake_when_every_message_waits(processor, store, monkeypatch):
    import threading

    from gateway.inbound.accept import Envelope, accept
    from gateway.worker import Worker

    accept(make_mail(), Envelope("anne@customer.example", ("support@example.com",), "", "smtp"), store=store,
           now=processor.rt.clock())
    _senders_busy(monkeypatch)
    passes, waits = [], []

    def run_once() -> int:
        passes.append(processor.run_once())
        if len(passes) > 3:
            worker.stopping.set()  # A worker that spins would never get to wait; stop it here instead.
        return passes[-1]

    class Wake(threading.Event):
        def wait(self, timeout=None) -> bool:  # type: ignore[no-untyped-def]
            waits.append(timeout)
            worker.stopping.set()
            return False

    worker = Worker("processor", run_once, idle=5.0, wake=Wake())
    worker._run()  # In this thread, so what the loop does is seen exactly.
    assert (passes, waits) == ([0], [5.0])
