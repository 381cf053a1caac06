"""A store written by hand with known times, so every number a report prints can be checked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.models import (Conversation, Customer, KnownIssue, Message, Note, OutboxItem, OutboxStatus, Status)
from gateway.store import Store

WINDOW = ("2026-03-02", "2026-03-16")  # two whole weeks, Monday to Monday, [hours] in UTC


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


class Writer:
    """Adds conversations and their messages; message keys are made unique."""

    def __init__(self, store: Store) -> None:
        self.store, self.count = store, 0

    def customer(self, address: str, partner: bool = False) -> int:
        with self.store.transaction() as tx:
            row = Customer(address=address, partner=partner, created_at=at(1, 0))
            tx.add(row)
            tx.flush()
            return row.id  # type: ignore[return-value]

    def conversation(self, ref: str, customer: int, created: datetime, *, status: str = Status.OPEN,
                     first: datetime | None = None, resolved: datetime | None = None, tags: tuple[str, ...] = (),
                     channel: str = "support@example.com", merged_into: int | None = None) -> int:
        with self.store.transaction() as tx:
            row = Conversation(ref=ref, customer_id=customer, channel=channel, status=status, created_at=created,
                               updated_at=created, first_response_at=first, resolved_at=resolved, tags=list(tags),
                               merged_into_id=merged_into)
            tx.add(row)
            tx.flush()
            return row.id  # type: ignore[return-value]

    def message(self, conversation: int | None, when: datetime, direction: str, kind: str) -> None:
        self.count += 1
        with self.store.transaction() as tx:
            tx.add(Message(conversation_id=conversation, message_key=f"<m{self.count}@test>", direction=direction,
                           kind=kind, created_at=when, text="not read by reports"))

    def note(self, conversation: int, when: datetime, kind: str, body: str) -> None:
        with self.store.transaction() as tx:
            tx.add(Note(conversation_id=conversation, created_at=when, kind=kind, body=body))


@pytest.fixture
def known_store(store) -> Store:
    """Four conversations in the window (first of March 2026, Monday to Monday), one before it, one merged."""
    w = Writer(store)
    anne, bo, cat, dan = (w.customer("anne@a.example"), w.customer("bo@partner.example", partner=True),
                          w.customer("noreply@c.example"), w.customer("dan@d.example"))
    february = datetime(2026, 2, 1, 8, tzinfo=UTC)
    old = w.conversation("OLD00000", anne, february, status=Status.RESOLVED, resolved=february)
    w.message(old, february, "in", "customer")
    c1 = w.conversation("C1000000", anne, at(2, 9), status=Status.RESOLVED, first=at(2, 10), resolved=at(2, 12),
                        tags=("billing",))
    for when, direction, kind in ((at(2, 9), "in", "customer"), (at(2, 9), "out", "acknowledgement"),
                                  (at(2, 9), "out", "notification"), (at(2, 10), "in", "agent"),
                                  (at(2, 10), "out", "agent_reply")):
        w.message(c1, when, direction, kind)
    # Friday 16:00, answered Monday 10:00: 2 business hours, 66 on the clock; resolved, then reopened.
    c2 = w.conversation("C2000000", bo, at(6, 16), first=at(9, 10), tags=("login", "outage-x"))
    for when, direction, kind in ((at(6, 16), "in", "customer"), (at(6, 16), "out", "acknowledgement"),
                                  (at(9, 10), "out", "agent_reply"), (at(9, 15), "in", "customer")):
        w.message(c2, when, direction, kind)
    w.note(c2, at(9, 15), "reopened", "Reopened by the customer's reply.")
    c3 = w.conversation("C3000000", cat, at(10, 9, 30), tags=("login",))
    w.message(c3, at(10, 9, 30), "in", "customer")
    w.note(c3, at(10, 9, 30), "not_acknowledged",
           "No acknowledgement sent: noreply@c.example matches the no-reply pattern 'noreply*'.")
    c4 = w.conversation("C4000000", dan, at(11, 13), status=Status.RESOLVED, first=at(11, 17), resolved=at(12, 10),
                        tags=("login", "outage-x"))
    for when, direction, kind in ((at(11, 13), "in", "customer"), (at(11, 13), "out", "acknowledgement"),
                                  (at(11, 17), "out", "agent_reply"), (at(12, 9, 30), "in", "customer"),
                                  (at(12, 10), "out", "agent_reply")):
        w.message(c4, when, direction, kind)
    merged = w.conversation("MERGED00", dan, at(11, 14), merged_into=c4, status=Status.RESOLVED, resolved=at(11, 15))
    w.message(c4, at(11, 14), "in", "customer")  # its message moved to C4 with the merge
    w.message(None, at(3, 12), "in", "auto_reply")  # an out-of-office that opened nothing
    with store.transaction() as tx:
        tx.add(KnownIssue(name="outage-x", created_at=at(8, 12), conversation_id=c2))
        tx.add(OutboxItem(conversation_id=c4, kind="acknowledgement", message_id="<ack-failed@test>", raw=b"x",
                          status=OutboxStatus.FAILED, created_at=at(11, 13), next_attempt_at=at(11, 13),
                          expires_at=at(16, 13)))
    assert merged
    return store
