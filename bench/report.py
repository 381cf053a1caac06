"""How long `gateway report` and `gateway status` take on a large store, and how much memory they use.

Builds a store of about --messages messages (a year of mail: customers' requests and replies, acknowledgements,
notifications, agents' mail in and their relayed replies, each with a few hundred bytes of text), unless --keep
finds one already built, then runs the commands as real processes and prints their time and peak RSS:

    .venv/bin/python bench/report.py [--messages 1000000] [--database-url URL] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import func, select

from gateway.models import Conversation, Customer, KnownIssue, Message, Note, SQLModel
from gateway.schema import migrate  # noqa: E402
from gateway.store import Store

START = datetime(2025, 3, 2, tzinfo=UTC)
TAGS = ("billing", "login", "export", "api", "printer", "outage-x", "invoice", "sso")
TEXT = ("Hello, since this morning the export to CSV stops halfway and the file is empty. " * 4)[:320]


def build(store: Store, messages: int, seed: int = 7) -> None:
    """Write conversations of about seven messages each, spread over a year, in large batches."""
    rng = random.Random(seed)
    customers = max(messages // 40, 10)
    with store.engine.begin() as conn:
        conn.execute(insert(Customer), [{"address": f"c{i}@customer{i % 500}.example", "name": f"C {i}",
                                         "partner": i % 25 == 0, "created_at": START} for i in range(customers)])
        conn.execute(insert(KnownIssue), [{"name": "outage-x", "created_at": START + timedelta(days=200)}])
    written, conversation_id, key = 0, 0, 0
    while written < messages:
        conversations, rows, notes = [], [], []
        for _ in range(2000):
            conversation_id += 1
            created = START + timedelta(seconds=rng.randrange(365 * 86400))
            answered = created + timedelta(minutes=rng.expovariate(1 / 300)) if rng.random() < 0.93 else None
            resolved = answered + timedelta(hours=rng.expovariate(1 / 30)) if answered and rng.random() < 0.8 else None
            conversations.append({
                "id": conversation_id, "ref": f"R{conversation_id:07d}", "subject": "Export stops halfway",
                "subject_key": "export stops halfway", "customer_id": rng.randrange(customers) + 1,
                "channel": "support@example.com" if rng.random() < 0.8 else "billing@example.com",
                "status": "resolved" if resolved else "open", "created_at": created, "updated_at": created,
                "first_response_at": answered, "resolved_at": resolved, "priority": "normal",
                "tags": rng.sample(TAGS, rng.randrange(3)), "no_survey": False, "language": ""})
            plan = [(created, "in", "customer"), (created, "out", "acknowledgement"),
                    (created, "out", "notification"), (created, "out", "notification")]
            if answered:
                plan += [(answered, "in", "agent"), (answered, "out", "agent_reply")]
                if rng.random() < 0.3:
                    later = answered + timedelta(hours=rng.expovariate(1 / 8))
                    plan += [(later, "in", "customer"), (later, "out", "notification")]
            for when, direction, kind in plan:
                key += 1
                rows.append({"conversation_id": conversation_id, "message_key": f"<{key}@bench>",
                             "message_id": f"<{key}@bench>", "direction": direction, "kind": kind,
                             "sender": "c@customer.example", "sender_name": "", "recipients": [],
                             "subject": "Export stops halfway", "text": TEXT, "created_at": when,
                             "content_hash": "", "in_reply_to": "", "references": [], "defects": [],
                             "attachments": [], "stripped": ""})
            if rng.random() < 0.05:
                notes.append({"conversation_id": conversation_id, "created_at": created, "kind": "not_acknowledged",
                              "body": "No acknowledgement sent: x@y matches the no-reply pattern 'noreply*'.",
                              "author": ""})
            if resolved and rng.random() < 0.08:
                notes.append({"conversation_id": conversation_id, "created_at": resolved + timedelta(days=1),
                              "kind": "reopened", "body": "Reopened by the customer's reply.", "author": ""})
        with store.engine.begin() as conn:
            conn.execute(insert(Conversation), conversations)
            conn.execute(insert(Message), rows)
            if notes:
                conn.execute(insert(Note), notes)
        written += len(rows)
        print(f"\r  built {written:,} messages", end="", file=sys.stderr)
    print(file=sys.stderr)


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and that one child's peak RSS in MB for one CLI run."""
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "gateway", *args], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    took = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) not in (0, 3):
        raise SystemExit(f"gateway {' '.join(args)} failed: {child.stderr.read().decode() if child.stderr else ''}")
    return took, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=f"sqlite:///{Path(tempfile.gettempdir()) / 'report-bench.db'}")
    parser.add_argument("--keep", action="store_true", help="reuse the store if it already has messages")
    options = parser.parse_args()
    store = Store(options.database_url)
    if options.database_url.startswith("sqlite:///") and not options.keep:
        Path(options.database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        store = Store(options.database_url)
    migrate(store)
    with store.reading() as tx:
        have = tx.exec(select(func.count()).select_from(Message)).one()
    if not (options.keep and have):
        if have:
            with store.engine.begin() as conn:
                for table in reversed(SQLModel.metadata.sorted_tables):
                    conn.execute(table.delete())
        started = time.monotonic()
        build(store, options.messages)
        print(f"built the store in {time.monotonic() - started:.0f} s")
    with store.reading() as tx:
        counts = [tx.exec(select(func.count()).select_from(m)).one() for m in (Message, Conversation)]
    store.dispose()
    print(f"store: {counts[0]:,} messages in {counts[1]:,} conversations, {options.database_url}")
    env = {**os.environ, "GATEWAY_DATABASE_URL": options.database_url}
    env.pop("GATEWAY_CONFIG", None)
    year = ["--since", "2025-03-02", "--until", "2026-03-02"]
    month = ["--since", "2026-01-01", "--until", "2026-02-01"]
    html = Path(tempfile.gettempdir()) / "report-bench.html"
    runs = [("report, last 30 days of the data", ["report", *month, "--json"]),
            ("report, a whole year", ["report", *year, "--json"]),
            ("report, a year --by week", ["report", *year, "--by", "week", "--json"]),
            ("report, a year --by tag", ["report", *year, "--by", "tag", "--json"]),
            ("report, a year --html", ["report", *year, "--html", str(html)]),
            ("status", ["status", "--json"])]
    print(f"{'command':<36} {'seconds':>8} {'peak RSS MB':>12}")
    for name, args in runs:
        took, rss = timed(args, env)
        print(f"{name:<36} {took:>8.2f} {rss:>12.0f}")


if __name__ == "__main__":
    main()
