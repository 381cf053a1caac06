"""Admin CLI benchmark: import, export and the conversation list over a store of realistic size.

Generates an mbox of N messages (70% new requests from about N/3 senders, 30% replies to earlier ones, bodies of
40 to 300 words), imports it with `gateway import mbox` into a fresh SQLite store (or the PostgreSQL database in
GATEWAY_BENCH_DATABASE_URL, emptied first), then exports it as JSON Lines and as mbox, and times
`conversations list` plain, with --search (the portable LIKE scan issue 8 will replace) and with --tag. Prints
messages per second and seconds per listing (median of 5).

Run:  .venv/bin/python bench/admin_cli.py [--messages 5000]
"""

from __future__ import annotations

import argparse
import mailbox
import os
import random
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from typer.testing import CliRunner  # noqa: E402

from gateway.cli import app  # noqa: E402

SEED = 20261124
WORDS = ("account login password reset invoice billing refund payment card export backup data token limit error "
         "notification email delay spam delete workspace project member invite permission calendar mobile app sync "
         "upload attachment storage plan upgrade trial subscription receipt report dashboard filter search import "
         "the a to and of in is it for on with that this we you our my can not please when after still again").split()


def mbox_of(path: Path, count: int, rng: random.Random) -> None:
    box = mailbox.mbox(path, create=True)
    sent: list[tuple[str, str, str]] = []
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for n in range(count):
        mail = EmailMessage()
        if sent and rng.random() < 0.3:
            sender, subject, parent = rng.choice(sent)
            mail["Subject"], mail["In-Reply-To"], mail["References"] = f"Re: {subject}", parent, parent
        else:
            sender, subject = f"customer{rng.randrange(count // 3 + 1)}@example.net", " ".join(rng.sample(WORDS, 4))
            mail["Subject"] = subject
        mail["From"], mail["To"] = sender, "support@example.com"
        mail["Message-ID"] = f"<bench-{n}@example.net>"
        mail["Date"] = format_datetime(start + timedelta(minutes=7 * n))
        mail.set_content(" ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 300))) + "\n")
        sent.append((sender, subject.removeprefix("Re: "), mail["Message-ID"]))
        box.add(mail.as_bytes(policy=SMTP))
    box.flush()
    box.close()


def timed(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    result = CliRunner().invoke(app, list(args), env=env)
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(f"{' '.join(args)} failed: {result.output}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    count = parser.parse_args().messages
    folder = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    url = os.environ.get("GATEWAY_BENCH_DATABASE_URL", f"sqlite:///{folder / 'gateway.db'}")
    if url.startswith("postgresql"):
        from sqlalchemy import text

        from gateway.store import Store
        with Store(url).engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    env = {"GATEWAY_DATABASE_URL": url, "GATEWAY_MAIL_SECRET": "bench"}
    source = folder / "history.mbox"
    mbox_of(source, count, random.Random(SEED))
    print(f"{count} messages, {source.stat().st_size / 1e6:.1f} MB mbox; store {url.split('@')[-1]}")
    timed(env, "init", "--config", str(folder / "gateway.toml"))  # Only init creates a database.
    seconds = timed(env, "import", "mbox", str(source))
    print(f"import mbox: {seconds:.1f} s, {count / seconds:.0f} messages/s")
    for fmt in ("jsonl", "mbox"):
        seconds = timed(env, "export", "--format", fmt, str(folder / f"out.{fmt}"))
        print(f"export {fmt}: {seconds:.1f} s, {count / seconds:.0f} messages/s")
    for label, args in (("list", ()), ("list --all", ("--all",)), ("list --all --search", ("--all", "--search",
                        "refund invoice")), ("list --all --tag", ("--all", "--tag", "vip"))):
        runs = [timed(env, "conversations", "list", "--json", *args) for _ in range(5)]
        print(f"conversations {label}: {statistics.median(runs) * 1000:.0f} ms (median of 5)")


if __name__ == "__main__":
    main()
