"""Ingest benchmark: the gateway's SMTP listener against a bare aiosmtpd sink that only fsyncs.

Sends the same seeded mix of support mail (new requests, replies, out-of-office, bounces) over C
concurrent SMTP sessions to each server, and prints: messages/s accepted, p50/p99 latency from DATA
to its 250, and the gateway/sink ratio; for the gateway also the time from the last 250 until every
raw message is processed, the outbox rows queued, and the daemon's peak RSS (VmHWM). Every server
runs in its own process on 127.0.0.1, with its files in a temporary directory removed at the end.

Run:  /work/venv/bin/python bench/ingest.py [--messages 2000] [--connections 16]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

HOST, SUPPORT, SEED = "127.0.0.1", "support@example.com", 20240601
WORDS = ("order invoice account login password refund shipping delivery package tracking number charge "
         "subscription plan upgrade cancel error page browser app update payment card address please help "
         "thanks urgent week yesterday today again still cannot since after before customer service").split()
NAMES = "Anna Ben Chloé Dmitri Emma Farid Grace Hiro Ines João Kai Lena Marta Noor Olu Priya Rosa Tomás".split()
TOPICS = ("Refund for order", "Cannot log in", "Invoice question", "Shipping delay", "Password reset",
          "Billing error", "Account locked", "Feature request", "App crashes", "Wrong item received")
Proc = subprocess.Popen[bytes]


@dataclass(frozen=True)
class Mail:
    kind: str       # new | reply | ooo | bounce
    mail_from: str  # the envelope sender; "" for bounces
    data: bytes
    conn: int       # the session that sends it: one sender's mail stays in order on one connection


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    start: float = 0.0
    end: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / (self.end - self.start)

    def ms(self, q: float) -> float:
        values = sorted(self.latencies)
        return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


def prose(rng: random.Random, size: int) -> str:
    lines: list[str] = []
    while sum(map(len, lines)) < size:
        lines.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + ".")
    return "\n".join(lines)


def header(rng: random.Random, i: int, sender: str, subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, SUPPORT, subject
    msg["Date"] = format_datetime(datetime(2024, 6, 1, 8, tzinfo=UTC) + timedelta(seconds=7 * i))
    msg["Message-ID"] = f"<{i}.{rng.getrandbits(48):x}@{sender.rstrip('>').partition('@')[2]}>"
    return msg


def bounce(rng: random.Random, i: int) -> EmailMessage:
    """A multipart/report delivery-status notification from MAILER-DAEMON about one of our mails."""
    msg = header(rng, i, f"Mail Delivery System <MAILER-DAEMON@mx{i % 7}.example.net>",
                 "Undelivered Mail Returned to Sender")
    msg["MIME-Version"], msg["Content-Type"] = "1.0", "multipart/report; report-type=delivery-status"
    text, dsn, headers, per_message, per_rcpt = (EmailMessage() for _ in range(5))
    text.set_content("This is the mail system. Your message could not be delivered.\n")
    per_message["Reporting-MTA"] = f"dns; mx{i % 7}.example.net"
    for key, value in (("Final-Recipient", f"rfc822; gone{i}@cust{i % 53}.example.org"), ("Action", "failed"),
                       ("Status", "5.1.1"), ("Diagnostic-Code", "smtp; 550 5.1.1 User unknown")):
        per_rcpt[key] = value
    dsn["Content-Type"], headers["Content-Type"] = "message/delivery-status", "text/rfc822-headers"
    dsn.set_payload([per_message, per_rcpt])
    headers.set_payload(f"From: Support <{SUPPORT}>\r\nTo: gone{i}@cust{i % 53}.example.org\r\n"
                        "Subject: We received your request\r\n")
    for part in (text, dsn, headers):
        msg.attach(part)
    return msg


def corpus(n: int, conns: int, seed: int = SEED) -> list[Mail]:
    """~70% new requests from ~600 senders, ~20% replies, ~5% out-of-office, ~5% bounces."""
    rng = random.Random(seed)
    random.seed(seed)  # the email package draws MIME boundaries from the global generator
    people = [(f"{rng.choice(NAMES)} {chr(65 + k % 26)}.", f"user{k}@cust{k % 53}.example.org") for k in range(650)]
    history: dict[int, list[tuple[str, str]]] = {}  # sender -> [(Message-ID, subject)] of their requests
    mails: list[Mail] = []
    for i in range(n):
        roll, who = rng.random(), rng.randrange(len(people))
        kind = "bounce" if roll < 0.05 else "ooo" if roll < 0.10 else "reply" if roll < 0.30 and history else "new"
        who = rng.choice(list(history)) if kind == "reply" else who
        name, addr = people[who]
        if kind == "new":
            subject = f"{rng.choice(TOPICS)} #{rng.randint(1000, 99999)}"
            msg = header(rng, i, f"{name} <{addr}>", subject)
            msg.set_content(prose(rng, rng.randint(1000, 3000)) + f"\n\n{name}\n")
            if rng.random() < 0.3:
                msg.add_alternative(f"<html><body><p>{msg.get_content()}</p></body></html>", subtype="html")
            if rng.random() < 0.05:
                msg.add_attachment(rng.randbytes(rng.randint(50_000, 200_000)), maintype="application",
                                   subtype="pdf", filename=f"scan-{i}.pdf")
            history.setdefault(who, []).append((msg["Message-ID"], subject))
        elif kind == "reply":
            parent, subject = rng.choice(history[who])
            msg = header(rng, i, f"{name} <{addr}>", f"Re: {subject}")
            msg["In-Reply-To"], msg["References"] = parent, parent
            msg.set_content(prose(rng, rng.randint(300, 1500)) + "\n\n> " + prose(rng, 400).replace("\n", "\n> "))
        elif kind == "ooo":
            msg = header(rng, i, f"{name} <{addr}>", "Automatic reply: Your request")
            msg["Auto-Submitted"], msg["X-Auto-Response-Suppress"] = "auto-replied", "All"
            msg.set_content(f"I am out of the office until Monday.\n\n{name}\n")
        else:
            msg, addr = bounce(rng, i), ""
        mails.append(Mail(kind, addr, msg.as_bytes(policy=SMTP_POLICY), (who if addr else i) % conns))
    return mails


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def spawn(args: list[str], port: int, **popen: Any) -> Proc:
    """Start a server process and wait until its port accepts connections."""
    proc, deadline = subprocess.Popen(args, **popen), time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{args[1:3]}: nothing listening on port {port} (exit code {proc.poll()})")


def run_sink(port: int, out: str) -> None:
    """Child-process mode: a Controller that appends and fsyncs each message (with no file: just accepts)."""
    fh = open(out, "ab") if out else None

    class Handler:
        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            if fh is not None:
                fh.write(envelope.original_content or b"")
                fh.flush()
                os.fsync(fh.fileno())
            return "250 2.0.0 Ok"

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})  # the Controller thread inherits it
    controller = Controller(Handler(), hostname=HOST, port=port)
    controller.start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()


def start_gateway(tmp: Path, port: int, relay_port: int) -> Proc:
    """`gateway serve` on a copy of the default config with GATEWAY_* overrides; its output to gateway.log."""
    shutil.copy(Path(__file__).resolve().parents[1] / "gateway" / "default_config.toml", tmp / "gateway.toml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_DATABASE_URL=f"sqlite:///{tmp / 'gateway.db'}", GATEWAY_SMTP_PORT=str(port),
               GATEWAY_RELAY_PORT=str(relay_port), GATEWAY_LOGGING_LEVEL="WARNING")
    with open(tmp / "gateway.log", "wb") as log:
        return spawn([sys.executable, "-m", "gateway", "serve", "--config", str(tmp / "gateway.toml")], port,
                     env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT)


def send_share(port: int, mails: list[Mail], result: Result, barrier: threading.Barrier) -> None:
    """One SMTP session: RSET, MAIL, RCPT, DATA per message; times each DATA until its 250."""
    with smtplib.SMTP(HOST, port, timeout=300) as client:
        client.ehlo("bench.example.net")
        barrier.wait()
        for mail in mails:
            try:
                client.rset()
                if (code := client.mail(mail.mail_from)[0]) != 250 or (code := client.rcpt(SUPPORT)[0]) != 250:
                    raise smtplib.SMTPResponseException(code, b"MAIL or RCPT refused")
                t0 = time.perf_counter()
                client.data(mail.data)
                result.latencies.append(time.perf_counter() - t0)
            except smtplib.SMTPResponseException as exc:
                result.errors.append(f"{exc.smtp_code} {exc.smtp_error!r}")
            result.end = time.perf_counter()


def load(port: int, mails: list[Mail], conns: int) -> Result:
    results = [Result() for _ in range(conns)]
    barrier = threading.Barrier(conns + 1, timeout=60)  # every session connected before the clock starts
    threads = [threading.Thread(target=send_share, args=(port, [m for m in mails if m.conn == c], results[c], barrier))
               for c in range(conns)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return Result([x for r in results for x in r.latencies], [e for r in results for e in r.errors],
                  start, max(r.end for r in results))


def db_query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute(sql).fetchall()


def peak_rss_mb(pid: int) -> float:
    """Peak RSS of the daemon and its worker process together (the children of its main thread)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [pid, *(int(c) for c in children.read_text().split())] if children.exists() else [pid]
    total = 0.0
    for one in pids:
        hwm = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{one}/status").read_text())
        total += int(hwm.group(1)) / 1024 if hwm else float("nan")
    return total


def report(sink: Result, gw: Result, db: Path, drain: float, left: int, pid: int, conns: int) -> None:
    print(f"\n{'server':<8} {'msgs/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'accepted':>9} {'errors':>7}")
    for name, r in (("sink", sink), ("gateway", gw)):
        print(f"{name:<8} {r.rate:>8.1f} {r.ms(0.50):>8.1f} {r.ms(0.99):>8.1f} {len(r.latencies):>9} "
              f"{len(r.errors):>7}")
        for err in sorted(set(r.errors))[:5]:
            print(f"  error: {err}")
    ratio = gw.rate / sink.rate
    outbox = dict(db_query(db, "SELECT status, count(*) FROM outbox GROUP BY status"))
    states = dict(db_query(db, "SELECT state, count(*) FROM raw_message GROUP BY state"))
    rss = peak_rss_mb(pid)
    print(f"ratio gateway/sink msgs/s: {ratio:.2f}")
    print(f"gateway: all processed {drain:.2f} s after the last 250{f' (NOT: {left} left)' if left else ''}; "
          f"outbox rows {sum(outbox.values())} {outbox}; peak RSS {rss:.0f} MB (daemon + worker process); raw states {states}")
    verdict = {True: "met", False: "NOT met"}
    print(f"targets: gateway >= 60% of sink msgs/s at {conns} connections: {verdict[ratio >= 0.6]}; "
          f"all processed within 1 s of the last 250: {verdict[not left and drain <= 1.0]}; "
          f"peak RSS < 200 MB: {verdict[rss < 200]}")


def stop(gateway: Proc | None, sinks: list[Proc], log: Path) -> None:
    """SIGTERM everything and wait; then show the ERROR and Traceback lines of the gateway's log."""
    if gateway is not None and gateway.poll() is None:
        gateway.send_signal(signal.SIGTERM)
        try:
            print(f"gateway stopped with exit code {gateway.wait(timeout=60)}")
        except subprocess.TimeoutExpired:
            gateway.kill()
            print("gateway did not stop within 60 s of SIGTERM; killed")
    for proc in sinks:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    bad = [line for line in lines if re.search(r"ERROR|Traceback|^\w+(Error|Exception)\b", line)]
    print(f"gateway log: {len(lines)} lines, {len(bad)} ERROR/Traceback lines")
    for line in bad[:20]:
        print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--sink", nargs=2, metavar=("PORT", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        return run_sink(int(args.sink[0]), args.sink[1])
    mails = corpus(args.messages, args.connections)
    kinds = {k: sum(m.kind == k for m in mails) for k in ("new", "reply", "ooo", "bounce")}
    print(f"{len(mails)} messages ({sum(len(m.data) for m in mails) / 1e6:.1f} MB; {kinds}) "
          f"over {args.connections} connections")
    tmp, sinks = Path(tempfile.mkdtemp(prefix="ingest-bench-")), list[Proc]()
    gateway: Proc | None = None
    try:
        sink_port, relay_port, gw_port = free_port(), free_port(), free_port()
        sinks += [spawn([sys.executable, __file__, "--sink", str(port), out], port)
                  for port, out in ((sink_port, str(tmp / "sink.mbox")), (relay_port, ""))]
        gateway = start_gateway(tmp, gw_port, relay_port)
        sink = load(sink_port, mails, args.connections)  # the sink first, while the gateway idles
        gw = load(gw_port, mails, args.connections)
        deadline, db = time.monotonic() + 120, tmp / "gateway.db"
        while (left := db_query(db, "SELECT count(*) FROM raw_message WHERE state='received'")[0][0]) \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        report(sink, gw, db, time.perf_counter() - gw.end, left, gateway.pid, args.connections)
    finally:
        stop(gateway, sinks, tmp / "gateway.log")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
