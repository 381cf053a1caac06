"""Build a large store for the benchmarks: N conversations of a few messages each, over two years.

Each conversation has the customer's first mail (with its raw MIME), our acknowledgement (an outbox row,
sent), the agents' notification, usually an agent's reply and often a customer's answer with References; a quarter are still open.
Customers write several conversations each. Rows go in with plain multi-row INSERTs, so a store of
1,000,000 messages in 200,000 conversations takes minutes, not hours. The schema is the gateway's own
(migrated), so every index the gateway has is there.

Run:  .venv/bin/python bench/build_store.py URL [--conversations 200000]
      (URL: sqlite:///bench/out/store.db or postgresql+psycopg://postgres@127.0.0.1/gateway_bench)
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Table, func, insert, select
from sqlmodel import SQLModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gateway.models import (Agent, Conversation, Customer, Message, MessageReference, OutboxItem,  # noqa: E402
                            Participant, RawMessage)
from gateway.schema import migrate  # noqa: E402
from gateway.store import Store  # noqa: E402

SEED = 20261204
NOW = datetime(2026, 12, 1, tzinfo=UTC)
WORDS = ("order invoice account login password refund shipping delivery package tracking number charge "
         "subscription plan upgrade cancel error page browser app update payment card address please help "
         "thanks urgent week yesterday today again still cannot since after before export import sync "
         "printer offline calendar invite token api limit report backup restore mobile android iphone").split()
TOPICS = ("Refund for order", "Cannot log in", "Invoice question", "Shipping delay", "Password reset",
          "Billing error", "Account locked", "Feature request", "App crashes", "Wrong item received",
          "Export fails", "Calendar sync", "API rate limit", "Printer offline", "Two-factor codes")
TAGS = ("billing", "login", "bug", "shipping", "feature", "mobile", "api")
BATCH = 5000


def prose(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def raw_mail(sender: str, subject: str, mid: str, when: datetime, text: str) -> bytes:
    return (f"From: {sender}\r\nTo: support@example.com\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n"
            f"Date: {when:%a, %d %b %Y %H:%M:%S +0000}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{text}\r\n").encode()


class Rows:
    """Rows per table, flushed to the database a batch at a time with multi-row INSERTs."""

    def __init__(self, store: Store) -> None:
        self.store, self.pending, self.count = store, dict[Table, list[dict[str, object]]](), dict[str, int]()

    def add(self, model: type, **values: object) -> None:
        table = model.__table__  # type: ignore[attr-defined]
        self.pending.setdefault(table, []).append(values)
        if len(self.pending[table]) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Every table's pending rows, parents before children (foreign keys)."""
        for table in SQLModel.metadata.sorted_tables:
            rows = self.pending.pop(table, [])
            if rows:
                with self.store.engine.begin() as conn:
                    conn.execute(insert(table), rows)
                self.count[table.name] = self.count.get(table.name, 0) + len(rows)


def conversations(rng: random.Random, n: int, customers: int) -> Iterator[tuple[int, int, datetime]]:
    """(conversation number, customer number, created at), oldest first, over two years."""
    start = NOW - timedelta(days=730)
    for i in range(n):
        yield i, rng.randrange(customers), start + timedelta(seconds=int(i * 730 * 86400 / n) + rng.randrange(600))


def build(url: str, n: int) -> dict[str, int]:
    store = Store(url)
    migrate(store)
    with store.engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(Conversation.__table__)).scalar():
            raise SystemExit(f"{url} already holds conversations; give an empty database")
    rng, rows = random.Random(SEED), Rows(store)
    customers = max(n // 3, 1)
    for k in range(customers):
        rows.add(Customer, id=k + 1, address=f"user{k}@cust{k % 997}.example.org", name=f"User {k}",
                 partner=k % 50 == 0, created_at=NOW - timedelta(days=800))
    for a in range(8):
        rows.add(Agent, id=a + 1, address=f"agent{a}@example.com", name=f"Agent {a}", tier=1 + a % 2,
                 created_at=NOW - timedelta(days=800), active=True)
    rows.flush()
    message_pk, raw_pk = 0, 0
    for i, k, created in conversations(rng, n, customers):
        cid, address, subject = i + 1, f"user{k}@cust{k % 997}.example.org", f"{rng.choice(TOPICS)} #{i}"
        is_open = created > NOW - timedelta(days=20) or rng.random() < 0.02
        answered = not is_open or rng.random() < 0.5
        first_response = created + timedelta(minutes=rng.randrange(5, 2000)) if answered else None
        resolved = (first_response or created) + timedelta(hours=rng.randrange(1, 96)) if not is_open else None
        rows.add(Conversation, id=cid, ref=f"B{i:07d}", subject=subject, subject_key=subject.lower()[:200],
                 customer_id=k + 1, channel="support@example.com", status="open" if is_open else "resolved",
                 created_at=created, updated_at=resolved or first_response or created,
                 first_response_at=first_response, resolved_at=resolved, priority="normal",
                 tags=[rng.choice(TAGS)] if rng.random() < 0.6 else [], assignee_id=None, no_survey=False,
                 language="en")
        rows.add(Participant, conversation_id=cid, address=address)
        text = prose(rng, rng.randrange(40, 120))
        mid = f"<{i}.{rng.getrandbits(40):x}@cust{k % 997}.example.org>"
        raw = raw_mail(f"User {k} <{address}>", subject, mid, created, text)
        raw_pk += 1
        rows.add(RawMessage, id=raw_pk, received_at=created, source="smtp", mail_from=address,
                 rcpt_tos=["support@example.com"], peer="127.0.0.1", size=len(raw), raw=raw, state="processed",
                 stage=None, reason=None, processed_at=created)
        thread = [mid]
        message_pk += 1
        rows.add(Message, **message(message_pk, raw_pk, cid, mid, "in", "customer", address, subject, text, created,
                                    "new", []))
        ack = f"<b{i:07d}.ack@example.com>"
        rows.add(OutboxItem, conversation_id=cid, kind="acknowledgement", message_id=ack, recipient=address,
                 automatic=True, template="acknowledgement", mail_from="", rcpt_tos=[address],
                 raw=b"(acknowledgement)", status="sent", attempts=1, created_at=created, next_attempt_at=created,
                 expires_at=created + timedelta(days=5), sent_at=created, last_error=None)
        message_pk += 1
        rows.add(Message, **message(message_pk, None, cid, ack, "out", "acknowledgement", "support@example.com",
                                    f"Re: {subject}", "We have your message.", created, None, [mid]))
        thread.append(ack)
        note = f"<b{i:07d}.notify@example.com>"
        message_pk += 1
        rows.add(Message, **message(message_pk, None, cid, note, "out", "notification", "support@example.com",
                                    f"[#B{i:07d}] {subject}", text, created, None, []))
        if first_response is not None:
            reply = f"<b{i:07d}.reply@example.com>"
            message_pk += 1
            rows.add(Message, **message(message_pk, None, cid, reply, "out", "agent_reply", "support@example.com",
                                        f"Re: {subject}", prose(rng, rng.randrange(30, 90)), first_response,
                                        None, list(thread)))
            thread.append(reply)
        for n_answer in range(rng.choice((0, 1, 1, 2))):
            when = (first_response or created) + timedelta(hours=1 + n_answer)
            answer = f"<{i}.{n_answer}.{rng.getrandbits(40):x}@cust{k % 997}.example.org>"
            text = prose(rng, rng.randrange(20, 80))
            raw = raw_mail(f"User {k} <{address}>", f"Re: {subject}", answer, when, text)
            raw_pk += 1
            rows.add(RawMessage, id=raw_pk, received_at=when, source="smtp", mail_from=address,
                     rcpt_tos=["support@example.com"], peer="127.0.0.1", size=len(raw), raw=raw,
                     state="processed", stage=None, reason=None, processed_at=when)
            message_pk += 1
            rows.add(Message, **message(message_pk, raw_pk, cid, answer, "in", "customer", address, f"Re: {subject}",
                                        text, when, "references", list(thread)))
            for ref in thread:
                rows.add(MessageReference, message_pk=message_pk, conversation_id=cid, ref=ref.lower())
            thread.append(answer)
        if (i + 1) % 20000 == 0:
            print(f"  {i + 1} conversations, {message_pk} messages", flush=True)
    rows.flush()
    if store.is_sqlite:
        with store.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # Sequences were bypassed by the explicit ids; and the planner needs statistics for the new rows.
            for table in ("customer", "agent", "conversation", "raw_message", "message"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
            conn.exec_driver_sql("VACUUM ANALYZE")
    store.dispose()
    return rows.count


def message(pk: int, raw_id: int | None, cid: int, mid: str, direction: str, kind: str, sender: str, subject: str,
            text: str, when: datetime, matched_by: str | None, references: list[str]) -> dict[str, object]:
    return dict(id=pk, raw_id=raw_id, conversation_id=cid, message_key=mid.lower(), message_id=mid,
                direction=direction, kind=kind, sender=sender, sender_name="", recipients=["support@example.com"],
                subject=subject, text=text, sent_at=when, created_at=when, matched_by=matched_by,
                content_hash=hashlib.sha256(text.encode()).hexdigest(), in_reply_to=references[-1] if references
                else "", references=references, defects=[], attachments=[], agent_id=None, stripped="")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--conversations", type=int, default=200_000)
    args = parser.parse_args()
    started = time.monotonic()
    counts = build(args.url, args.conversations)
    print(f"built in {time.monotonic() - started:.0f} s: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
