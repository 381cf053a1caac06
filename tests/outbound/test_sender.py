"""The sender worker against a real SMTP server standing in for the relay."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes

import pytest
from sqlmodel import select

from gateway import conversation_admin
from gateway.actions import UpdateConversation
from gateway.config import Settings
from gateway.models import Agent, Conversation, Note, OutboxItem, OutboxStatus, Status
from gateway.outbound.backoff import next_attempt
from gateway.outbound.sender import OutboxSender
from gateway.outbound.transport import MemoryTransport, SendResult
from gateway.pipeline import load_roster
from tests.helpers import conversations, deliver, make_mail, outbox_items, run_until_idle

pytestmark = pytest.mark.integration


def queue_ack(processor, n: int = 1) -> None:
    for i in range(n):
        deliver(processor, make_mail(message_id=f"<q{i}@x>", subject=f"Question {i}",
                                     sender=f"Customer {i} <c{i}@customer.example>"))


def test_a_2xx_marks_the_item_sent_and_the_relay_has_the_exact_bytes(processor, relay_sender, relay_sink, store):
    queue_ack(processor)
    assert relay_sender.run_once() == 1
    [item] = outbox_items(store)
    assert item.status == OutboxStatus.SENT and item.attempts == 1
    assert relay_sink.handler.received[0].raw == item.raw
    assert b"\n" not in item.raw.replace(b"\r\n", b""), "SMTP needs CRLF line ends, never a bare LF"


def test_a_4xx_is_retried_later_with_the_same_message(processor, relay_sender, relay_sink, store, clock):
    queue_ack(processor)
    relay_sink.handler.reply = "451 4.3.0 try later"
    relay_sender.run_once()
    [item] = outbox_items(store)
    assert item.status == OutboxStatus.PENDING and "451" in item.last_error
    assert item.next_attempt_at == clock() + timedelta(minutes=1)
    assert relay_sender.run_once() == 0, "not due yet"
    relay_sink.handler.reply = "250 2.0.0 Ok"
    clock.advance(minutes=1)
    assert relay_sender.run_once() == 1
    [item_after] = outbox_items(store)
    assert item_after.status == OutboxStatus.SENT and item_after.message_id == item.message_id
    assert len(relay_sink.handler.received) == 1


def test_a_5xx_fails_the_item_and_leaves_a_note_on_the_conversation(processor, relay_sender, relay_sink, store):
    queue_ack(processor)
    relay_sink.handler.reply = "550 5.1.1 no such user"
    relay_sender.run_once()
    [item] = outbox_items(store)
    assert item.status == OutboxStatus.FAILED
    with store.transaction() as tx:
        [note] = tx.exec(select(Note)).all()
    assert note.kind == "delivery_failed" and "550 5.1.1 no such user" in note.body


def test_an_unreachable_relay_is_retried_until_the_lifetime_then_fails(processor, store, settings, clock, caplog):
    from gateway.config import replace
    from gateway.outbound.transport import SmtpTransport
    from tests.helpers import free_port

    queue_ack(processor, 2)
    dead = replace(settings, relay={"port": free_port(), "timeout": timedelta(seconds=2)})
    sender = OutboxSender(store, dead, SmtpTransport(dead.relay), clock)
    sender.run_once()
    assert {i.status for i in outbox_items(store)} == {OutboxStatus.PENDING}
    # One error per outage, not one per mail: `gateway status` shows it as the last error.
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "relay unreachable" in errors[0] and "Connection refused" in errors[0]
    clock.advance(days=6)
    sender.run_once()
    items = outbox_items(store)
    assert {i.status for i in items} == {OutboxStatus.FAILED} and "expired" not in (items[0].last_error or "")
    with store.transaction() as tx:
        assert "expired after retries" in tx.exec(select(Note)).all()[0].body


def test_fresh_mail_goes_before_a_backlog_of_retries(processor, relay_sender, relay_sink, store, clock):
    queue_ack(processor, 3)
    relay_sink.handler.reply = "451 4.3.0 busy"
    relay_sender.run_once()
    relay_sink.handler.reply = "250 2.0.0 Ok"
    clock.advance(hours=1)
    deliver(processor, make_mail(message_id="<fresh@x>", subject="Fresh", sender="F <fresh@customer.example>"))
    relay_sender.batch = 1
    relay_sender.run_once()
    assert relay_sink.handler.received[0].rcpt_tos == ["fresh@customer.example"]


def test_a_send_interrupted_by_a_crash_is_taken_over_after_its_lease(processor, relay_sender, relay_sink, store,
                                                                     clock):
    queue_ack(processor)
    relay_sender._claim(clock())  # Another process claims the item, then dies before sending it.
    assert outbox_items(store)[0].status == OutboxStatus.SENDING
    clock.advance(seconds=relay_sender.lease.total_seconds() - 1)
    assert relay_sender.run_once() == 0, "its lease still holds"
    clock.advance(seconds=2)
    assert relay_sender.run_once() == 1
    assert outbox_items(store)[0].status == OutboxStatus.SENT


def test_a_slow_relay_never_gets_a_send_begun_that_could_outlast_the_lease(processor, store, settings, clock):
    queue_ack(processor, 3)

    class SlowRelay(MemoryTransport):
        def send(self, item: OutboxItem) -> SendResult:
            # This send used up the batch's slack: one more might run past the lease of those still waiting.
            clock.advance(seconds=(sender.lease - sender.longest_send).total_seconds() + 1)
            return super().send(item)

    sender = OutboxSender(store, settings, SlowRelay(), clock)
    assert sender.run_once() == 1
    assert sorted(i.status for i in outbox_items(store)) == ["pending", "pending", "sent"]
    assert [i.lease_until for i in outbox_items(store)] == [None, None, None]
    run_until_idle(sender.run_once)
    assert len(sender.transport.sent) == 3, "the rest go on the next passes, each once"


def test_a_sender_whose_lease_ran_out_leaves_alone_what_another_sender_took_over(processor, store, settings, clock):
    queue_ack(processor, 3)
    taken: list[OutboxItem] = []

    class StuckRelay(MemoryTransport):
        def send(self, item: OutboxItem) -> SendResult:
            # This send outlived the lease, and meanwhile another gateway claimed what was still waiting.
            clock.advance(seconds=sender.lease.total_seconds() + 1)
            taken.extend(OutboxSender(store, settings, MemoryTransport(), clock)._claim(clock()))
            return super().send(item)

    sender = OutboxSender(store, settings, StuckRelay(), clock)
    assert sender.run_once() == 1
    waiting = [item for item in taken if item.id not in {i.id for i in sender.transport.sent}]
    assert len(waiting) == 2
    with store.reading() as tx:
        rows = [tx.get(OutboxItem, item.id) for item in waiting]
    assert [(r.status, r.lease_until) for r in rows] == [("sending", item.lease_until) for item in waiting], \
        "still the other sender's: given back, they would be sent twice"


def test_a_restarted_single_process_gateway_releases_what_it_was_sending(processor, relay_sender, store, clock):
    queue_ack(processor)
    relay_sender._claim(clock())
    assert relay_sender.release_abandoned() == 1
    assert outbox_items(store)[0].status == OutboxStatus.PENDING


def test_backoff_doubles_up_to_the_cap_and_stops_at_expiry(clock):
    policy = Settings().outbound
    item = OutboxItem(kind="x", message_id="<m>", raw=b"", created_at=clock(), next_attempt_at=clock(),
                      expires_at=clock() + timedelta(days=5), attempts=1)
    delays = []
    for attempts in range(1, 10):
        item.attempts = attempts
        delays.append(next_attempt(item, clock(), policy) - clock())
    assert delays[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert max(delays) == timedelta(hours=1)
    assert next_attempt(item, clock() + timedelta(days=5), policy) is None


def test_the_relay_is_reached_over_starttls_with_auth(processor, store, settings, clock, tls_files):
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from gateway.config import replace
    from gateway.outbound.sender import OutboxSender
    from gateway.outbound.transport import SmtpTransport
    from tests.conftest import SinkHandler
    from tests.helpers import free_port

    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[str] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        logins.append(auth_data.login.decode())
        return AuthResult(success=auth_data.login == b"gateway" and auth_data.password == b"s3cret")

    handler = SinkHandler()
    relay = Controller(handler, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True,
                       authenticator=authenticator, auth_required=True)
    relay.start()
    try:
        queue_ack(processor)
        configured = replace(settings, relay={"host": "127.0.0.1", "port": relay.port, "starttls": True,
                                              "ca_file": cert, "username": "gateway", "password": "s3cret"})
        sender = OutboxSender(store, configured, SmtpTransport(configured.relay), clock)
        assert sender.run_once() == 1
        sender.transport.close()
    finally:
        relay.stop()
    assert logins == ["gateway"]
    assert outbox_items(store)[0].status == OutboxStatus.SENT and len(handler.received) == 1


def test_a_wrong_relay_password_defers_mail_instead_of_failing_it(processor, store, settings, clock, tls_files):
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from gateway.config import replace
    from gateway.outbound.sender import OutboxSender
    from gateway.outbound.transport import SmtpTransport
    from tests.conftest import SinkHandler
    from tests.helpers import free_port

    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    relay = Controller(SinkHandler(), hostname="127.0.0.1", port=free_port(), tls_context=context,
                       require_starttls=True, auth_required=True,
                       authenticator=lambda *args: AuthResult(success=False))
    relay.start()
    try:
        queue_ack(processor)
        configured = replace(settings, relay={"host": "127.0.0.1", "port": relay.port, "starttls": True,
                                              "ca_file": cert, "username": "gateway", "password": "wrong",
                                              "timeout": timedelta(seconds=2)})
        OutboxSender(store, configured, SmtpTransport(configured.relay), clock).run_once()
    finally:
        relay.stop()
    [item] = outbox_items(store)
    assert item.status == OutboxStatus.PENDING and item.attempts == 1
    with store.transaction() as tx:
        assert tx.exec(select(Note)).all() == [], "nothing failed: fixing the password sends it"


def test_a_transport_that_raises_does_not_strand_the_batch(processor, store, settings, clock):
    from gateway.outbound.sender import OutboxSender

    class Broken:
        def send(self, item):  # type: ignore[no-untyped-def]
            raise StopIteration

        def close(self) -> None:
            pass

    queue_ack(processor, 2)
    assert OutboxSender(store, settings, Broken(), clock).run_once() == 2
    assert {i.status for i in outbox_items(store)} == {OutboxStatus.PENDING}


def queue_direct(store, clock, *rcpt_tos: str) -> None:  # type: ignore[no-untyped-def]
    """One rendered mail to customers that exist, written straight into the outbox (no pipeline needed)."""
    from gateway.models import Customer

    with store.transaction() as tx:
        for address in rcpt_tos:
            tx.add(Customer(address=address, created_at=clock()))
        tx.add(OutboxItem(kind="auto_reply", message_id=f"<direct-{len(rcpt_tos)}@example.com>",
                          mail_from="", rcpt_tos=list(rcpt_tos), created_at=clock(), next_attempt_at=clock(),
                          expires_at=clock() + timedelta(days=5),
                          raw=b"From: support@example.com\r\nSubject: Hi\r\n\r\nHello\r\n"))


def bounced(store) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from gateway.models import Customer

    with store.transaction() as tx:
        return {c.address: c.bounced_at for c in tx.exec(select(Customer)).all()}


@pytest.mark.parametrize(("reply", "expected"), [
    ("550 5.1.1 <anne@customer.example>: Recipient address rejected: User unknown", True),
    ("550 5.2.1 Mailbox disabled", True),
    ("554 5.7.1 Message rejected as spam", False),
    ("553 5.1.8 Sender address rejected: Domain not found", False),
    ("451 4.1.1 Recipient address verification in progress", False),
], ids=["unknown-user", "disabled", "spam", "our-sender", "temporary"])
def test_a_relay_refusing_the_recipient_for_good_is_a_hard_bounce(relay_sender, relay_sink, store, clock, reply,
                                                                  expected):
    queue_direct(store, clock, "anne@customer.example")
    relay_sink.handler.reply = reply
    relay_sender.run_once()
    assert bounced(store) == {"anne@customer.example": clock() if expected else None}


def test_with_several_recipients_only_the_refused_one_is_marked(relay_sender, relay_sink, store, clock):
    queue_direct(store, clock, "anne@customer.example", "bob@customer.example")
    relay_sink.handler.reply = "550 5.1.1 <bob@customer.example>: Recipient address rejected"
    relay_sender.run_once()
    assert outbox_items(store)[0].status == OutboxStatus.FAILED
    assert bounced(store) == {"anne@customer.example": None, "bob@customer.example": clock()}


def test_a_recipient_refused_at_rcpt_to_is_a_hard_bounce(store, settings, clock):
    from aiosmtpd.controller import Controller

    from gateway.config import replace
    from gateway.outbound.sender import OutboxSender
    from gateway.outbound.transport import SmtpTransport
    from tests.conftest import SinkHandler
    from tests.helpers import free_port

    class RefusesBob(SinkHandler):
        async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
            if address == "bob@customer.example":
                return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 Ok"

    handler = RefusesBob()
    relay = Controller(handler, hostname="127.0.0.1", port=free_port())
    relay.start()
    try:
        queue_direct(store, clock, "anne@customer.example", "bob@customer.example")
        configured = replace(settings, relay={"host": "127.0.0.1", "port": relay.port})
        sender = OutboxSender(store, configured, SmtpTransport(configured.relay), clock)
        sender.run_once()
        sender.transport.close()
    finally:
        relay.stop()
    assert [r.rcpt_tos for r in handler.received] == [["anne@customer.example"]]
    assert bounced(store) == {"anne@customer.example": None, "bob@customer.example": clock()}


def _ack_waiting_for_the_relay(processor, relay_sender, relay_sink, store) -> Conversation:
    queue_ack(processor)
    relay_sink.handler.reply = "451 4.3.0 try later"
    relay_sender.run_once()
    relay_sink.handler.reply = "250 2.0.0 Ok"
    [conversation] = conversations(store)
    return conversation


def test_an_acknowledgement_still_waiting_when_an_agent_answers_is_cancelled_not_sent(
        processor, relay_sender, relay_sink, store, runtime, clock):
    conversation = _ack_waiting_for_the_relay(processor, relay_sender, relay_sink, store)
    with store.transaction() as tx:
        tx.add(Agent(address="alice@example.com", name="Alice"))
    with store.transaction() as tx:
        [alice] = load_roster(tx)
        conversation_admin.reply(tx, runtime, tx.get(Conversation, conversation.id), alice,
                                 "It works again now.", "", clock())
    clock.advance(minutes=1)
    run_until_idle(relay_sender.run_once)
    to_customer = [message_from_bytes(r.raw) for r in relay_sink.handler.received if "c0@customer.example" in r.rcpt_tos]
    assert [m["Auto-Submitted"] for m in to_customer] == [None], "only the agent's answer reaches the customer"
    ack = next(i for i in outbox_items(store) if i.kind == "acknowledgement")
    assert ack.status == OutboxStatus.CANCELLED
    with store.reading() as tx:
        notes = tx.exec(select(Note).where(Note.kind == "delivery_cancelled")).all()
    assert [n.conversation_id for n in notes] == [conversation.id] and ack.message_id in notes[0].body


def test_an_acknowledgement_still_waiting_when_the_conversation_is_closed_is_cancelled(
        processor, relay_sender, relay_sink, store, runtime, clock):
    conversation = _ack_waiting_for_the_relay(processor, relay_sender, relay_sink, store)
    with store.transaction() as tx:
        conversation_admin.change(tx, runtime, tx.get(Conversation, conversation.id),
                                  UpdateConversation(status=Status.RESOLVED), "root (admin)", clock())
    clock.advance(minutes=1)
    run_until_idle(relay_sender.run_once)
    assert relay_sink.handler.received == []
    assert [i.status for i in outbox_items(store)] == [OutboxStatus.CANCELLED]


def test_an_acknowledgement_retried_while_the_conversation_still_waits_is_sent(
        processor, relay_sender, relay_sink, store, clock):
    _ack_waiting_for_the_relay(processor, relay_sender, relay_sink, store)
    clock.advance(minutes=1)
    assert relay_sender.run_once() == 1
    assert [i.status for i in outbox_items(store)] == [OutboxStatus.SENT]
