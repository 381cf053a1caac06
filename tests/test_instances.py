"""Several `gateway serve` processes on one PostgreSQL database: every item handled once, even after a SIGKILL."""

from __future__ import annotations

import itertools
import signal
import smtplib
import threading
import time
from collections import Counter
from email import message_from_bytes

import pytest
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.inbound.accept import Envelope, accept
from gateway.message import parse
from gateway.models import (Agent, Conversation, Message, Note, OutboxItem, RawMessage, RawState, Scheduled,
                            ScheduledState, Status, Survey)
from gateway.pipeline import Processor, process_in
from gateway.reply_token import ref_from_message_id
from tests.helpers import conversations, make_mail, messages, outbox_items, run_until_idle
from tests.servers.gateway import Daemon, wait_for
from tests.test_daemon import all_sent

pytestmark = pytest.mark.integration
ENVELOPE = Envelope("anne@customer.example", ("support@example.com",), "127.0.0.1", "smtp")


class Mta:
    """Delivers like an MTA with three MX hosts: a host that does not answer is skipped, the mail retried."""

    def __init__(self, daemons: list[Daemon]) -> None:
        self.daemons, self.accepted = daemons, Counter[str]()
        self.lock = threading.Lock()

    def deliver(self, raw: bytes, mail_from: str, first: int) -> None:
        for attempt in range(300):
            daemon = self.daemons[(first + attempt) % len(self.daemons)]
            try:
                with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:
                    client.sendmail(mail_from, ["support@example.com"], raw)
            except (OSError, smtplib.SMTPException):
                time.sleep(0.02)
                continue
            with self.lock:
                self.accepted[message_from_bytes(raw)["Message-ID"]] += 1
            return
        raise AssertionError("no gateway took the mail")

    def at_once(self, deliveries: list[tuple[bytes, str, int]]) -> None:
        """The same instant at different gateways: each delivery in its own thread behind one barrier."""
        barrier = threading.Barrier(len(deliveries))

        def one(raw: bytes, mail_from: str, first: int) -> None:
            barrier.wait()
            self.deliver(raw, mail_from, first)
        threads = [threading.Thread(target=one, args=d) for d in deliveries]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def test_three_gateways_on_one_database_handle_each_message_and_acknowledgement_once(
        database_url, store, relay_sink, tmp_path) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("several gateways share PostgreSQL; on SQLite one gateway owns the file")
    daemons = [Daemon(database_url, relay_sink.port, tmp_path / f"gateway{i}.log") for i in range(3)]
    for daemon in daemons:
        daemon.start()
    mta, turn = Mta(daemons), itertools.count()
    groups: dict[str, list[str]] = {}  # one expected conversation -> the Message-IDs that must land in it

    def mail(sender: int, subject: str, n: int) -> tuple[bytes, str]:
        mid = f"<{sender}-{n}@c{sender}.example>"
        groups.setdefault(f"{sender}/{subject}", []).append(mid)
        return make_mail(sender=f"C{sender} <c{sender}@c{sender}.example>", subject=subject, message_id=mid,
                         body=f"Request {n} about {subject}.\n"), f"c{sender}@c{sender}.example"

    def stream() -> None:
        for n in range(120):
            kind, sender = n % 4, n
            if kind == 1:  # The same mail at two gateways at once (two MX hosts both got it).
                raw, mail_from = mail(sender, f"Twice delivered {n}", n)
                mta.at_once([(raw, mail_from, 0), (raw, mail_from, 1)])
            elif kind == 2:  # Two new mails of one request from one person, at two gateways at once.
                first, mail_from = mail(sender, f"Printer offline {n}", n)
                second, _ = mail(sender, f"Printer offline {n}", n + 1000)
                mta.at_once([(first, mail_from, 1), (second, mail_from, 2)])
            else:
                raw, mail_from = mail(sender, f"Question {n}", n)
                mta.deliver(raw, mail_from, next(turn))

    load = threading.Thread(target=stream)
    load.start()
    wait_for(lambda: sum(mta.accepted.values()) >= 40)
    daemons[0].signal(signal.SIGKILL)  # A host dies mid-stream: its mail in hand is the others' to finish.
    load.join(timeout=300)
    # The dead host's items in flight are taken over when their lease (relay timeout x batch) has run out.
    wait_for(lambda: all_sent(store), timeout=180)
    for daemon in daemons[1:]:
        daemon.signal(signal.SIGTERM)

    with store.reading() as tx:
        placed = {m.message_id: m.conversation_id for m in tx.exec(select(Message).where(Message.direction == "in"))}
        conversations = tx.exec(select(Conversation.id)).all()
        acks = Counter(i.conversation_id for i in tx.exec(select(OutboxItem).where(
            OutboxItem.kind == "acknowledgement")))
    # Every mail that got a 250 is in exactly one conversation; the twice-delivered ones are one message.
    assert set(mta.accepted) == set(placed) and None not in placed.values()
    # One conversation per request, the pairs written at the same instant included.
    assert {frozenset(placed[m] for m in mids) for mids in groups.values()} == {
        frozenset([c]) for c in conversations}
    assert len(conversations) == len(groups)
    # One acknowledgement composed per conversation, and each went out once (the one in flight at the kill may
    # be sent again, byte for byte, as by any MTA).
    assert set(acks.values()) == {1} and len(acks) == len(groups)
    sent = Counter(message_from_bytes(r.raw)["Message-ID"] for r in relay_sink.handler.received)
    assert len({ref_from_message_id("daemon-secret", mid) for mid in sent}) == len(groups)
    assert sum(n - 1 for n in sent.values()) <= 1


def test_three_gateways_fire_each_survey_once_though_one_dies_while_they_are_due(
        database_url, store, relay_sink, tmp_path) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("several gateways share PostgreSQL; on SQLite one gateway owns the file")
    daemons = [Daemon(database_url, relay_sink.port, tmp_path / f"gateway{i}.log") for i in range(3)]
    survey_env = {"GATEWAY_SURVEYS_DELAY": "1s", "GATEWAY_WEB_PUBLIC_URL": "https://support.example.com"}
    for daemon in daemons:
        daemon.env.update(survey_env)
        daemon.start()
    cli = CliRunner()
    cli_env = {k: v for k, v in daemons[1].env.items() if k.startswith("GATEWAY_")}

    def run(*args: str) -> None:
        result = cli.invoke(app, list(args), env=cli_env)
        assert result.exit_code == 0, result.output
    run("agents", "add", "alice@example.com", "--name", "Alice")
    mta = Mta(daemons)
    for n in range(24):
        mta.deliver(make_mail(sender=f"C{n} <c{n}@c{n}.example>", subject=f"Question {n}",
                              message_id=f"<q{n}@c{n}.example>"), f"c{n}@c{n}.example", n)
    wait_for(lambda: all_sent(store) and len(conversations(store)) == 24, timeout=120)
    answer = tmp_path / "answer.txt"
    answer.write_text("Fixed on our side; it works again.\n")
    refs = [c.ref for c in conversations(store)]
    for n, ref in enumerate(refs):
        run("conversations", "reply", ref, "--file", str(answer), "--as", "alice@example.com")
        run("conversations", "close", ref)
        if n == len(refs) // 2:  # A host dies while the first surveys fall due and are being sent.
            daemons[0].signal(signal.SIGKILL)

    def settled() -> bool:
        with store.reading() as tx:
            waiting = tx.exec(select(Scheduled).where(Scheduled.state == ScheduledState.PENDING)).all()
        return not waiting and all_sent(store)
    wait_for(settled, timeout=180)
    for daemon in daemons[1:]:
        daemon.signal(signal.SIGTERM)

    with store.reading() as tx:
        surveys = tx.exec(select(Survey)).all()
    # Each closed conversation got its survey, recorded once, and its mail went out once (the one in flight at the
    # kill may be sent again, byte for byte, as by any MTA).
    assert sorted(s.conversation_id for s in surveys) == sorted(c.id for c in conversations(store))
    sent = Counter(message_from_bytes(r.raw)["Message-ID"] for r in relay_sink.handler.received)
    assert all(sent[s.message_id] >= 1 for s in surveys)
    assert sum(sent[s.message_id] - 1 for s in surveys) <= 1


def test_a_persons_second_mail_waits_while_another_gateway_threads_their_first(runtime, store, database_url) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer: two gateways never process at once")
    # A known customer: for a new one, the unique address already makes the second gateway wait.
    accept(make_mail(subject="Invoice", message_id="<zero@customer.example>"), ENVELOPE, store=store,
                     now=runtime.clock())
    run_until_idle(Processor(runtime).run_once)
    first = accept(make_mail(message_id="<one@customer.example>"), ENVELOPE, store=store, now=runtime.clock())
    second = accept(make_mail(message_id="<two@customer.example>", body="Still offline, please help.\n"),
                    ENVELOPE, store=store, now=runtime.clock())
    other_gateway = Processor(runtime)
    with store.transaction() as tx:  # One gateway is in the middle of threading the first mail...
        raw = tx.get(RawMessage, first)
        process_in(tx, raw, parse(raw.raw), runtime, runtime.clock())
        # ...when another takes the second: it must wait, not open a conversation, and it did no work.
        assert other_gateway.run_once() == 0
        with store.reading() as peek:
            assert peek.get(RawMessage, second).state == RawState.RECEIVED
    run_until_idle(other_gateway.run_once)
    invoice, printer = conversations(store)
    assert [m.conversation_id for m in messages(store) if m.direction == "in"] == [invoice.id, *[printer.id] * 2]
    assert len([i for i in outbox_items(store) if i.kind == "acknowledgement"]) == 2


def _waiting_for_a_lock(store) -> bool:
    """Whether a session of this database waits for a lock now (a new transaction each time: PostgreSQL keeps
    what pg_stat_activity showed for the rest of a transaction)."""
    with store.engine.connect() as peek:
        return bool(peek.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                      "AND wait_event_type = 'Lock'")).scalar())


def _while_row_is_locked(store, conversation_id: int, change, processor: Processor) -> None:
    """Another writer (a CLI command, another gateway) holds the conversation's row and changes it; `processor`
    takes the waiting mail meanwhile, and must wait for that writer's commit before it changes the row itself."""
    failures: list[BaseException] = []

    def process() -> None:
        try:
            processor.run_once()
        except BaseException as exc:  # Seen by the test, not lost in the thread.
            failures.append(exc)

    worker = threading.Thread(target=process)
    with store.transaction() as other:
        change(other.exec(select(Conversation).where(Conversation.id == conversation_id).with_for_update()).one())
        other.flush()
        worker.start()
        # Until the processor's transaction waits on a row lock in this database (and so on ours).
        deadline = time.monotonic() + 30
        while not _waiting_for_a_lock(store):
            assert time.monotonic() < deadline and worker.is_alive(), "processing never waited for the row"
            time.sleep(0.01)
    worker.join(timeout=60)
    assert not worker.is_alive() and failures == []


def test_a_customer_reply_waits_for_a_close_in_hand_and_then_reopens_the_conversation(
        runtime, store, database_url) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer: a close and a reply never run at once")
    processor = Processor(runtime)
    accept(make_mail(), ENVELOPE, store=store, now=runtime.clock())
    run_until_idle(processor.run_once)
    (conversation,) = conversations(store)
    (ack,) = outbox_items(store)
    accept(make_mail(subject="Re: Printer offline", message_id="<again@customer.example>",
                     body="It is offline again.\n", In_Reply_To=ack.message_id), ENVELOPE, store=store,
           now=runtime.clock())

    def close(row: Conversation) -> None:
        row.status, row.resolved_at = Status.RESOLVED, runtime.clock()
    _while_row_is_locked(store, conversation.id, close, processor)
    with store.reading() as tx:
        assert tx.get(Conversation, conversation.id).status == Status.OPEN, "the reply reopened what was closed"
        assert tx.exec(select(Note.kind).where(Note.conversation_id == conversation.id)).all() == ["reopened"]
        assert tx.exec(select(Message.conversation_id).where(
            Message.message_id == "<again@customer.example>")).one() == conversation.id


def test_an_agents_reply_waits_for_a_change_in_hand_and_keeps_it(runtime, store, database_url) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer: two changes never run at once")
    with store.transaction() as tx:
        tx.add(Agent(address="alice@example.com", name="Alice"))
    processor = Processor(runtime)
    accept(make_mail(), ENVELOPE, store=store, now=runtime.clock())
    run_until_idle(processor.run_once)
    (conversation,) = conversations(store)
    (notification,) = [i for i in outbox_items(store) if i.rcpt_tos == ["alice@example.com"]]
    token = message_from_bytes(notification.raw)["Reply-To"]
    accept(make_mail(sender="Alice <alice@example.com>", to=token, subject="Re: Printer offline",
                     message_id="<alice-1@example.com>", body="#tag printer\n\nPlease restart it.\n",
                     In_Reply_To=notification.message_id),
           Envelope("alice@example.com", (token,), "127.0.0.1", "smtp"), store=store, now=runtime.clock())

    def tag(row: Conversation) -> None:
        row.tags = [*row.tags, "billing"]
    _while_row_is_locked(store, conversation.id, tag, processor)
    with store.reading() as tx:
        assert sorted(tx.get(Conversation, conversation.id).tags) == ["billing", "printer"]
