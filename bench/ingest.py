"""Ingest benchmark: the gateway's SMTP listener against a bare aiosmtpd sink that only fsyncs.

Sends the same seeded mix of support mail (new requests, replies, out-of-office, bounces) over C
concurrent SMTP sessions to each server, and prints: messages/s accepted, p50/p99 latency from DATA
to its 250, and the gateway/sink ratio; for the gateway also the time from the last 250 until every
raw message is processed, the outbox rows queued, and the daemon's peak RSS (VmHWM). Every server
runs in its own process on 127.0.0.1, with its files in a temporary directory removed at the end.

With --postgres URL (a scratch database, emptied first) it then runs 1, 2 and 3 gateways on PostgreSQL,
the sessions spread evenly over them, in the same run and against the same sink.

Run:  .venv/bin/python bench/ingest.py [--messages 2000] [--connections 16] [--postgres URL [--instances 3]]
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
from sqlalchemy import create_engine, text
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


def start_gateway(tmp: Path, name: str, url: str, relay_port: int) -> tuple[Proc, int]:
    """`gateway serve` on a copy of the default config with GATEWAY_* overrides; its output to NAME.log."""
    shutil.copy(Path(__file__).resolve().parents[1] / "gateway" / "default_config.toml", tmp / "gateway.toml")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_DATABASE_URL=url, GATEWAY_SMTP_PORT=str(port), GATEWAY_WEB_PORT=str(free_port()),
               GATEWAY_RELAY_PORT=str(relay_port), GATEWAY_LOGGING_LEVEL="WARNING", GATEWAY_MAIL_SECRET="bench")
    with open(tmp / f"{name}.log", "wb") as log:
        return spawn([sys.executable, "-m", "gateway", "serve", "--config", str(tmp / "gateway.toml")], port,
                     env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT), port


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


def load(ports: list[int], mails: list[Mail], conns: int) -> Result:
    """The mix over `conns` sessions, spread evenly over the servers listening on `ports`."""
    results = [Result() for _ in range(conns)]
    barrier = threading.Barrier(conns + 1, timeout=60)  # every session connected before the clock starts
    threads = [threading.Thread(target=send_share, args=(ports[c % len(ports)], [m for m in mails if m.conn == c],
                                                         results[c], barrier))
               for c in range(conns)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return Result([x for r in results for x in r.latencies], [e for r in results for e in r.errors],
                  start, max(r.end for r in results))


def db_query(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def peak_rss_mb(pid: int) -> float:
    """Peak RSS of the daemon and its worker process together (the children of its main thread)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [pid, *(int(c) for c in children.read_text().split())] if children.exists() else [pid]
    total = 0.0
    for one in pids:
        hwm = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{one}/status").read_text())
        total += int(hwm.group(1)) / 1024 if hwm else float("nan")
    return total


@dataclass
class Run:
    """One configuration of gateways measured: its load result, drain time and what the store holds after."""

    name: str
    result: Result
    drain: float
    left: int
    rss: list[float]
    outbox: dict[str, int]
    states: dict[str, int]


def measure(name: str, url: str, instances: int, mails: list[Mail], conns: int, tmp: Path,
            relay_port: int) -> Run:
    """Start `instances` gateways on one store, send the mix across them, wait until all is processed."""
    gateways: list[Proc] = []
    ports: list[int] = []
    try:
        for i in range(instances):
            gateway, port = start_gateway(tmp, f"{name}-{i}", url, relay_port)
            gateways.append(gateway)
            ports.append(port)
        result = load(ports, mails, conns)
        deadline = time.monotonic() + 300
        while (left := db_query(url, "SELECT count(*) FROM raw_message WHERE state='received'")[0][0]) \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        drain = time.perf_counter() - result.end
        return Run(name, result, drain, left, [peak_rss_mb(g.pid) for g in gateways],
                   dict(db_query(url, "SELECT status, count(*) FROM outbox GROUP BY status")),
                   dict(db_query(url, "SELECT state, count(*) FROM raw_message GROUP BY state")))
    finally:
        for i, gateway in enumerate(gateways):
            stop(gateway, tmp / f"{name}-{i}.log")


def report(sink: Result, runs: list[Run], conns: int) -> None:
    print(f"\n{'server':<14} {'msgs/s':>8} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} {'accepted':>9} {'errors':>7} "
          f"{'drain s':>8} {'peak RSS MB':>12}")
    print(f"{'bare sink':<14} {sink.rate:>8.1f} {1:>6.2f} {sink.ms(0.50):>7.1f} {sink.ms(0.99):>7.1f} "
          f"{len(sink.latencies):>9} {len(sink.errors):>7}")
    for run in runs:
        r = run.result
        print(f"{run.name:<14} {r.rate:>8.1f} {r.rate / sink.rate:>6.2f} {r.ms(0.50):>7.1f} {r.ms(0.99):>7.1f} "
              f"{len(r.latencies):>9} {len(r.errors):>7} {run.drain:>8.2f} "
              f"{' + '.join(f'{m:.0f}' for m in run.rss):>12}")
        for err in sorted(set(r.errors))[:5]:
            print(f"  error: {err}")
        if run.left:
            print(f"  NOT all processed: {run.left} left after 300 s")
        print(f"  outbox {run.outbox}; raw states {run.states}")
    print("drain: seconds from the last 250 until every stored message was processed (threaded, replies queued); "
          "peak RSS per gateway (daemon + worker process)")
    first = runs[0]
    verdict = {True: "met", False: "NOT met"}
    print(f"targets ({first.name}): >= 60% of sink msgs/s at {conns} connections: "
          f"{verdict[first.result.rate / sink.rate >= 0.6]}; all processed within 1 s of the last 250: "
          f"{verdict[not first.left and first.drain <= 1.0]}; peak RSS < 200 MB: {verdict[max(first.rss) < 200]}")


def stop(proc: Proc, log: Path) -> None:
    """SIGTERM and wait; then show the ERROR and Traceback lines of its log."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            print(f"{log.stem} did not stop within 60 s of SIGTERM; killed")
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    bad = [line for line in lines if re.search(r"ERROR|Traceback|^\w+(Error|Exception)\b", line)]
    if bad:
        print(f"{log.stem} log: {len(bad)} ERROR/Traceback lines")
    for line in bad[:10]:
        print(f"  {line}")


def fresh_postgres(url: str) -> str:
    """An empty schema in the scratch database at `url` (each run starts from nothing)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--postgres", metavar="URL", help="also run 1..N gateways on this scratch PostgreSQL database "
                                                          "(emptied first)")
    parser.add_argument("--instances", type=int, default=3, help="with --postgres: up to this many gateways")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the single gateway on SQLite")
    parser.add_argument("--sink", nargs=2, metavar=("PORT", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        return run_sink(int(args.sink[0]), args.sink[1])
    mails = corpus(args.messages, args.connections)
    kinds = {k: sum(m.kind == k for m in mails) for k in ("new", "reply", "ooo", "bounce")}
    print(f"{len(mails)} messages ({sum(len(m.data) for m in mails) / 1e6:.1f} MB; {kinds}) "
          f"over {args.connections} connections")
    tmp, sinks = Path(tempfile.mkdtemp(prefix="ingest-bench-")), list[Proc]()
    try:
        sink_port, relay_port = free_port(), free_port()
        sinks += [spawn([sys.executable, __file__, "--sink", str(port), out], port)
                  for port, out in ((sink_port, str(tmp / "sink.mbox")), (relay_port, ""))]
        sink = load([sink_port], mails, args.connections)
        runs = [] if args.no_sqlite else [measure("sqlite", f"sqlite:///{tmp / 'gateway.db'}", 1, mails,
                                                  args.connections, tmp, relay_port)]
        for n in range(1, args.instances + 1) if args.postgres else ():
            runs.append(measure(f"postgres x{n}", fresh_postgres(args.postgres), n, mails, args.connections, tmp,
                                relay_port))
        report(sink, runs, args.connections)
    finally:
        for proc in sinks:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
