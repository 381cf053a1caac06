"""The admin CLI on a store of 1,000,000 messages in 200,000 conversations: wall time and peak memory.

Runs `conversations list` (plain, filtered, and `--search` through the full-text index), `conversations show`,
`report` (a month, two years, by week, by tag, as HTML) and `status` as real processes, one after another, on
the store bench/build_store.py builds (kept under bench/out/ for SQLite; built into --postgres URL, an empty
scratch database, unless it already holds that store).

Run:  .venv/bin/python bench/large_store_cli.py [--conversations 200000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlmodel import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from build_store import NOW, build  # noqa: E402
from pipeline_cost import PER_CONVERSATION, sqlite_store  # noqa: E402

from gateway.models import Conversation, Message  # noqa: E402
from gateway.schema import migrate  # noqa: E402
from gateway.store import Store  # noqa: E402


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, that one child's peak RSS in MB, and the lines it printed, for one CLI run."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, "-m", "gateway", *args], env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        took = time.monotonic() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode not in (0, 3):
            raise SystemExit(f"gateway {' '.join(args)} failed: {err.read().decode()}")
        return took, usage.ru_maxrss / 1024, out.read().count(b"\n")


def counts(url: str) -> tuple[int, int]:
    store = Store(url)
    migrate(store)
    with store.reading() as tx:
        found = (tx.exec(select(func.count()).select_from(Message)).one(),
                 tx.exec(select(func.count()).select_from(Conversation)).one())
    store.dispose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--postgres", metavar="URL", help="a scratch PostgreSQL database (built on first use)")
    options = parser.parse_args()
    if options.postgres:
        url = options.postgres
        if counts(url)[1] < options.conversations:
            print(f"building {options.conversations:,} conversations in PostgreSQL ...", flush=True)
            store = Store(url)
            with store.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            store.dispose()
            build(url, options.conversations)
    else:
        url = f"sqlite:///{sqlite_store(options.conversations * PER_CONVERSATION)}"
    messages, conversations = counts(url)
    print(f"store: {messages:,} messages in {conversations:,} conversations, {url}")
    env = {**os.environ, "GATEWAY_DATABASE_URL": url}
    env.pop("GATEWAY_CONFIG", None)
    span = ["--since", f"{NOW.year - 2}-12-01", "--until", f"{NOW:%Y-%m-%d}"]
    month = ["--since", f"{NOW.year}-11-01", "--until", f"{NOW:%Y-%m-%d}"]
    html = Path(tempfile.gettempdir()) / "large-store-report.html"
    ref, customer = f"B{options.conversations // 2:07d}", f"user{options.conversations // 7}@"
    runs = [("conversations list", ["conversations", "list"]),
            ("conversations list --all --tag api", ["conversations", "list", "--all", "--tag", "api"]),
            (f"conversations list --customer {customer}", ["conversations", "list", "--all", "--customer", customer]),
            ("list --all --search refund", ["conversations", "list", "--all", "--search", "refund"]),
            ("list --all --search 'printer offline'", ["conversations", "list", "--all", "--search",
                                                       '"printer offline"']),
            ("list --all --search 'calend sync iphone'", ["conversations", "list", "--all", "--search",
                                                          "calend sync iphone"]),
            ("list --all --search (no match)", ["conversations", "list", "--all", "--search", "zebrafish"]),
            (f"conversations show {ref}", ["conversations", "show", ref]),
            ("report, the last month", ["report", *month, "--json"]),
            ("report, two years", ["report", *span, "--json"]),
            ("report, two years --by week", ["report", *span, "--by", "week", "--json"]),
            ("report, two years --by tag", ["report", *span, "--by", "tag", "--json"]),
            ("report, two years --html", ["report", *span, "--html", str(html)]),
            ("status", ["status", "--json"]),
            ("--help (start-up alone)", ["--help"])]
    print(f"{'command':<44} {'seconds':>8} {'peak RSS MB':>12} {'lines':>6}")
    for name, args in runs:
        took, rss, lines = timed(args, env)
        print(f"{name:<44} {took:>8.2f} {rss:>12.0f} {lines:>6}", flush=True)


if __name__ == "__main__":
    main()
