"""A scheduled survey is a row with a due time: it survives a restart, and two gateways on one database
never send it twice (each row is claimed with SKIP LOCKED, each customer locked while their survey is decided)."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import datetime

from sqlmodel import select

from gateway.config import Settings
from gateway.models import (Agent, Conversation, Customer, Direction, Message, OutboxItem, Scheduled,
                            ScheduledState, Status, Survey)
from gateway.reply_token import new_ref
from gateway.runtime import Runtime
from gateway.scheduler import Scheduler
from gateway.store import Store
from gateway.surveys.schedule import status_changed
from tests.agents.conftest import Desk
from tests.conftest import SECRET
from tests.surveys.conftest import agent_answers, customer_writes, notes, ref_of, survey_rows

_spawn = multiprocessing.get_context("spawn")


def test_a_scheduled_survey_survives_a_restart_and_goes_out_once(desk: Desk, store, desk_settings, clock) -> None:
    got = customer_writes(desk)
    agent_answers(desk, got["alice"])
    store.dispose()  # The gateway stops (or dies); only the database remains.
    clock.advance(days=1)
    restarted = Store(desk_settings.database.url)
    scheduler = Scheduler(Runtime(restarted, desk_settings, SECRET, clock))
    assert scheduler.run_once() == 1
    desk.sender.run_once()
    (survey,) = desk.take()
    assert ref_of(survey) == ref_of(got["alice"]) and survey["List-Unsubscribe"]
    # Another start finds nothing left to do.
    assert Scheduler(Runtime(Store(desk_settings.database.url), desk_settings, SECRET, clock)).run_once() == 0
    restarted.dispose()


def seed(store: Store, settings: Settings, conversations: int, customers: int, now: datetime) -> None:
    """Resolved conversations an agent answered, spread over fewer customers, each with its survey due now."""
    with store.transaction() as tx:
        agent = Agent(address="alice@example.com", name="Alice", created_at=now)
        tx.add(agent)
        people = [Customer(address=f"c{i}@customer.example", created_at=now) for i in range(customers)]
        tx.add_all(people)
        tx.flush()
        for i in range(conversations):
            conversation = Conversation(ref=new_ref(), subject=f"Request {i}", customer_id=people[i % customers].id,
                                        channel="support@example.com", status=Status.RESOLVED, created_at=now,
                                        updated_at=now, resolved_at=now - settings.surveys.delay)
            tx.add(conversation)
            tx.flush()
            tx.add(Message(conversation_id=conversation.id, message_key=f"<in-{i}@customer.example>",
                           message_id=f"<in-{i}@customer.example>", direction=Direction.IN, kind="customer",
                           sender=f"c{i % customers}@customer.example", created_at=now))
            tx.add(Message(conversation_id=conversation.id, message_key=f"<out-{i}@example.com>",
                           message_id=f"<out-{i}@example.com>", direction=Direction.OUT, kind="agent_reply",
                           sender="support@example.com", agent_id=agent.id, created_at=now))
            status_changed(tx, conversation, Status.OPEN, settings, now)


def run_scheduler(url: str, settings: Settings, now: datetime, start, handled) -> None:  # type: ignore[no-untyped-def]
    """One gateway's scheduler in a process of its own, started together with the other's."""
    store = Store(url)
    scheduler = Scheduler(Runtime(store, settings, SECRET, lambda: now))
    start.wait(timeout=60)
    total = 0
    while count := scheduler.run_once():
        total += count
    handled.put(total)
    store.dispose()


def test_two_gateways_on_one_database_never_send_a_survey_twice(store, settings, clock) -> None:
    seed(store, settings, conversations=40, customers=20, now=clock.now)
    start, handled = _spawn.Event(), _spawn.Queue()
    workers = [_spawn.Process(target=run_scheduler, args=(settings.database.url, settings, clock.now, start,
                                                          handled)) for _ in range(2)]
    for worker in workers:
        worker.start()
    start.set()
    counts = [handled.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert sum(counts) == 40, f"every due row handled exactly once between the two ({counts})"
    with store.reading() as tx:
        sent = Counter(tx.exec(select(OutboxItem.recipient).where(OutboxItem.kind == "survey")).all())
        surveys = tx.exec(select(Survey)).all()
        states = set(tx.exec(select(Scheduled.state)).all())
    # Two conversations per customer: exactly one survey each, the other skipped by the spacing.
    assert sent == {f"c{i}@customer.example": 1 for i in range(20)}
    assert len(surveys) == 20 and states == {ScheduledState.DONE}


def test_a_bad_scheduled_row_is_dropped_with_a_note_and_the_others_still_run(store, settings, clock,
                                                                              monkeypatch) -> None:
    seed(store, settings, conversations=2, customers=2, now=clock.now)
    rt = Runtime(store, settings, SECRET, clock)
    calls = []

    def broken_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return real(*args, **kwargs)

    import gateway.scheduler as scheduler_module
    real = scheduler_module.run_due_survey
    monkeypatch.setattr(scheduler_module, "run_due_survey", broken_once)
    assert Scheduler(rt).run_once() == 2
    assert Scheduler(rt).run_once() == 0, "the broken row does not come back every pass"
    assert len(survey_rows(store)) == 1
    assert notes(store, "scheduled_failed") == ["The scheduled survey failed and was dropped: RuntimeError: a bug"]
    with store.reading() as tx:
        assert tx.exec(select(Scheduled.state).order_by(Scheduled.id)).all() == [ScheduledState.CANCELLED,
                                                                                 ScheduledState.DONE]
