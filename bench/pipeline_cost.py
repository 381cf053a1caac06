"""Pipeline cost per message as the store grows: it should stay flat.

For each store size (built once by bench/build_store.py and kept under bench/out/), a copy of the store
takes the same 1,000 messages of the ingest mix (new requests, replies, out-of-office, bounces), and the
processor (parse, classify, thread, decide, outbox) runs until idle. Prints the wall and CPU time per message.
On PostgreSQL (--postgres URL of an empty scratch database) each size is built into that database in turn.
Size 0 is a new store as `gateway init` leaves it, without agents (so nothing is notified), as in bench/ingest.py.

Run:  .venv/bin/python bench/pipeline_cost.py [--sizes 0 10000 100000 1000000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from build_store import NOW, build  # noqa: E402
from ingest import corpus  # noqa: E402

from gateway.config import Settings, replace  # noqa: E402
from gateway.inbound.accept import Envelope, accept_many  # noqa: E402
from gateway.pipeline import Processor  # noqa: E402
from gateway.runtime import Runtime  # noqa: E402
from gateway.schema import migrate  # noqa: E402
from gateway.store import Store  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
PER_CONVERSATION = 5  # messages per conversation in build_store's stores


def measure(url: str, mails: int) -> tuple[float, float]:
    """(wall ms, CPU ms) per message to process `mails` messages of the mix in the store at `url`."""
    store = Store(url)
    clock = lambda: NOW + timedelta(hours=1)  # noqa: E731 - just after the store's newest conversation
    batch = [(m.data, Envelope(m.mail_from, ("support@example.com",), "127.0.0.1", "smtp"))
             for m in corpus(mails, 16)]
    accept_many(batch, store=store, now=clock())
    rt = Runtime(store, replace(Settings(), database={"url": url}, mail={"secret": "bench"}), "bench", clock)
    processor = Processor(rt, batch=100)
    wall, cpu = time.perf_counter(), time.process_time()
    while processor.run_once():
        pass
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    store.dispose()
    return wall * 1000 / mails, cpu * 1000 / mails


def build_or_migrate(url: str, messages: int) -> None:
    """A store of about this many messages; 0: only the schema, no agents."""
    if messages:
        build(url, messages // PER_CONVERSATION)
        return
    store = Store(url)
    migrate(store)
    store.dispose()  # on SQLite the last connection's close moves the WAL into the file we copy


def sqlite_store(messages: int) -> Path:
    """The kept store of this size, built on first use."""
    path = OUT / f"store-{messages}.db"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        print(f"building {path.name} ...", flush=True)
        build_or_migrate(f"sqlite:///{path}", messages)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--postgres", metavar="URL", help="an empty scratch PostgreSQL database to use")
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        if args.postgres:
            store = Store(args.postgres)
            with store.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            store.dispose()
            print(f"building {size} messages in PostgreSQL ...", flush=True)
            build_or_migrate(args.postgres, size)
            results.append((size, *measure(args.postgres, args.mails)))
            continue
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "store.db"
            shutil.copy(sqlite_store(size), copy)
            results.append((size, *measure(f"sqlite:///{copy}", args.mails)))
    print(f"\n{'stored messages':>16} {'wall ms/msg':>12} {'CPU ms/msg':>11}")
    for size, wall, cpu in results:
        print(f"{size:>16,} {wall:>12.2f} {cpu:>11.2f}")


if __name__ == "__main__":
    main()
