"""Rate limits counted from the store: per sender per hour, and the circuit breaker over all automatic mail."""

from __future__ import annotations

import pytest
from sqlmodel import select

from gateway.config import replace
from gateway.models import Conversation, Note, OutboxItem, RawMessage, RawState, Status
from gateway.pipeline import Processor
from gateway.runtime import Runtime
from tests.conftest import SECRET
from tests.helpers import conversations, deliver, make_mail, outbox_items


@pytest.fixture
def limited(store, settings, clock) -> Processor:
    settings = replace(settings, autoreply={"per_sender_per_hour": 3, "circuit_breaker": 5},
                       mail={"admins": ("ops@example.com", "lead@example.com")})
    return Processor(Runtime(store, settings, SECRET, clock))


def new_conversations(processor: Processor, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        deliver(processor, make_mail(subject=f"Question {n}", message_id=f"<q{n}@customer.example>",
                                     body=f"Question number {n} about something else entirely.\n"))


def acknowledgements(store) -> list[OutboxItem]:
    return [i for i in outbox_items(store) if i.kind == "acknowledgement"]


def test_a_sender_opening_many_conversations_gets_at_most_the_hourly_limit_of_acknowledgements(
        limited, store, clock) -> None:
    new_conversations(limited, 5)
    assert len(acknowledgements(store)) == 3
    with store.reading() as tx:
        notes = tx.exec(select(Note.body).where(Note.kind == "not_acknowledged")).all()
    assert len(notes) == 2 and all("3 acknowledgements to anne@customer.example" in n for n in notes)
    clock.advance(minutes=61)
    new_conversations(limited, 1, start=5)
    assert len(acknowledgements(store)) == 4


def test_the_circuit_breaker_counts_all_automatic_mail_and_tells_each_admin_once(limited, store, clock) -> None:
    # Three acknowledgements, then two other automatic mails to the same address (e.g. surveys) in the hour.
    new_conversations(limited, 3)
    sent = acknowledgements(store)
    with store.transaction() as tx:
        for item in sent[:2]:
            tx.add(OutboxItem(kind="survey", message_id=f"<survey-{item.id}@example.com>", recipient=item.recipient,
                              automatic=True, raw=b"x", created_at=clock(), next_attempt_at=clock(),
                              expires_at=clock(), rcpt_tos=item.rcpt_tos))
    clock.advance(minutes=1)
    new_conversations(limited, 2, start=3)
    notices = [i for i in outbox_items(store) if i.kind == "admin_notice"]
    assert sorted(r for i in notices for r in i.rcpt_tos) == ["lead@example.com", "ops@example.com"]
    assert all(i.automatic for i in notices)
    assert b"anne@customer.example" in notices[0].raw
    with store.reading() as tx:
        notes = tx.exec(select(Note.body).where(Note.kind == "not_acknowledged")).all()
    assert len(notes) == 2 and all("circuit breaker" in n for n in notes)


def test_a_reply_that_reopens_a_resolved_conversation_gets_no_second_acknowledgement(processor, store, clock) -> None:
    deliver(processor, make_mail())
    deliver(processor, make_mail(subject="Re: Printer offline", message_id="<req-2@customer.example>",
                                 In_Reply_To="<req-1@customer.example>", body="Also, it beeps.\n"))
    assert len(acknowledgements(store)) == 1
    [conversation] = conversations(store)
    with store.transaction() as tx:
        tx.get(Conversation, conversation.id).status = Status.RESOLVED
    clock.advance(days=3)
    deliver(processor, make_mail(subject="Re: Printer offline", message_id="<req-3@customer.example>",
                                 In_Reply_To="<req-2@customer.example>", body="Thanks, that fixed it!\n"))
    assert conversations(store)[0].status == Status.OPEN
    assert len(acknowledgements(store)) == 1
    # After the reopen window the reply opens a new conversation, linked to the old one: that is acknowledged.
    with store.transaction() as tx:
        tx.get(Conversation, conversation.id).status = Status.RESOLVED
    clock.advance(days=31)
    deliver(processor, make_mail(subject="Re: Printer offline", message_id="<req-4@customer.example>",
                                 In_Reply_To="<req-3@customer.example>", body="It is offline again.\n"))
    assert len(conversations(store)) == 2 and len(acknowledgements(store)) == 2


def test_an_acknowledgement_that_fails_to_render_costs_neither_the_mail_nor_the_conversation(
        processor, store, monkeypatch) -> None:
    def broken(*args: object, **kwargs: object) -> dict[str, object]:
        raise RuntimeError("article index went away")

    monkeypatch.setattr("gateway.outbound.acknowledgement.acknowledgement_variables", broken)
    raw_id = deliver(processor, make_mail())
    with store.reading() as tx:
        assert tx.get(RawMessage, raw_id).state == RawState.PROCESSED
        [note] = tx.exec(select(Note.body).where(Note.kind == "not_acknowledged")).all()
    assert "article index went away" in note
    assert len(conversations(store)) == 1 and acknowledgements(store) == []


def test_a_notice_to_the_admins_that_fails_costs_nothing_but_itself(limited, store, clock, monkeypatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("template gone")

    monkeypatch.setattr("gateway.apply.queue_admin_notice", broken)
    with store.transaction() as tx:
        for n in range(5):
            tx.add(OutboxItem(kind="survey", message_id=f"<s{n}@example.com>", recipient="anne@customer.example",
                              automatic=True, raw=b"x", created_at=clock(), next_attempt_at=clock(),
                              expires_at=clock(), rcpt_tos=["anne@customer.example"]))
    raw_id = deliver(limited, make_mail())
    with store.reading() as tx:
        assert tx.get(RawMessage, raw_id).state == RawState.PROCESSED
        kinds = tx.exec(select(Note.kind)).all()
    assert sorted(kinds) == ["admins_not_told", "not_acknowledged"]
