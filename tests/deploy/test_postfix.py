"""A real Postfix in front of and behind the gateway, configured with the snippets in deploy/postfix:
support@ reaches us over SMTP, billing@ through the pipe to `gateway inject`, and what we send goes out through
Postfix into a local mailbox (or comes back as a real bounce to our VERP address)."""

from __future__ import annotations

import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from gateway.config import replace
from gateway.models import Customer, Note, OutboxItem, OutboxStatus, RawMessage
from gateway.outbound.sender import OutboxSender
from gateway.outbound.transport import SmtpTransport
from gateway.pipeline import Processor, Runtime
from gateway.store import Store
from tests.conftest import SECRET, listening
from tests.helpers import make_mail
from tests.servers.postfix import Postfix, available

pytestmark = pytest.mark.integration
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "postfix"
CHECKOUT = Path(__file__).resolve().parents[2]


def gateway_command() -> str:
    """How the pipe (running as nobody) starts this checkout's gateway; skip when nobody cannot."""
    python = sys.executable
    site = next(p for p in sys.path if p.endswith("site-packages"))
    candidates = [f"{python} -m gateway"]
    system = shutil.which("python3", path="/usr/bin")
    if system and subprocess.run([system, "-c", f"import sys; sys.exit(sys.version_info[:2] != {sys.version_info[:2]})"]
                                 ).returncode == 0:
        # A virtualenv whose interpreter lives under /root: Debian's python3 of the same version, our packages.
        candidates.append(f"/usr/bin/env PYTHONPATH={site}:{CHECKOUT} {system} -m gateway")
    for command in candidates:
        probe = subprocess.run(["runuser", "-u", "nobody", "--", *command.split(), "--help"], capture_output=True)
        if probe.returncode == 0:
            return command
    pytest.skip("the pipe's unprivileged user (nobody) cannot run this checkout's Python")


@pytest.fixture
def pipe_folder() -> Iterator[Path]:
    """Where the piped `gateway inject` (as nobody) keeps its own SQLite store and config."""
    folder = Path(tempfile.mkdtemp(prefix="gateway-pipe-"))
    folder.chmod(0o777)
    (folder / "gateway.toml").write_text(
        f'[mail]\naddresses = ["support@example.com", "billing@example.com"]\nsecret = "{SECRET}"\n'
        f'[database]\nurl = "sqlite:///{folder}/pipe.db"\n')
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def snippets(gateway_port: int, inject: str, config: Path) -> tuple[str, str, str]:
    """deploy/postfix as an admin pastes it, with this test's ports, paths and pipe user."""
    main = (DEPLOY / "main.cf").read_text().replace("hash:/etc/postfix/transport", "texthash:{root}/etc/transport")
    master = (DEPLOY / "master.cf").read_text().replace("user=gateway", "user=nobody").replace(
        "/opt/gateway/.venv/bin/gateway inject --config /etc/gateway/gateway.toml", f"{inject} inject --config {config}")
    # Mail to a domain that does not exist is accepted, then bounced by Postfix itself: a real DSN.
    transport = (DEPLOY / "transport").read_text().replace(":2525", f":{gateway_port}") + \
        "dead.example error:5.1.1 mailbox unavailable\n"
    return main, master, transport


@pytest.fixture
def mta(settings, store, clock, pipe_folder) -> Iterator[tuple[Postfix, Callable[..., None], Runtime]]:
    if not available():
        pytest.skip("Debian's postfix is not installed, or the tests do not run as root (.ci/run installs it)")
    inject = gateway_command()
    with listening(settings, store, clock) as gateway:
        postfix = Postfix(*snippets(gateway.port, inject, pipe_folder / "gateway.toml")).start()
        rt_settings = replace(settings, relay={"host": "127.0.0.1", "port": postfix.port},
                              autoreply={"envelope": "verp"})
        rt = Runtime(store, rt_settings, SECRET, clock)
        processor = Processor(rt)
        sender = OutboxSender(store, rt_settings, SmtpTransport(rt_settings.relay), clock)

        def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
            deadline = time.monotonic() + timeout
            while not condition():
                processor.run_once()
                sender.run_once()
                if time.monotonic() > deadline:
                    raise AssertionError(f"not reached in time; Postfix said:\n{postfix.log()}")
                time.sleep(0.1)

        try:
            yield postfix, until, rt
        finally:
            sender.transport.close()
            postfix.close()


def to_postfix(postfix: Postfix, raw: bytes, rcpt: str, mail_from: str = "anne@customer.example") -> None:
    with smtplib.SMTP("127.0.0.1", postfix.port) as client:
        client.sendmail(mail_from, [rcpt], raw)


def outbox(store: Store) -> list[OutboxItem]:
    with store.reading() as tx:
        return list(tx.exec(select(OutboxItem)).all())


def test_support_mail_reaches_us_through_postfix_and_our_answer_reaches_the_customers_mailbox(mta, store):
    postfix, until, _ = mta
    to_postfix(postfix, make_mail(), "support@example.com")
    until(lambda: bool(postfix.mailbox()))
    [ack] = postfix.mailbox()
    [item] = outbox(store)
    assert ack["Message-ID"] == item.message_id and item.status == OutboxStatus.SENT
    assert ack["Auto-Submitted"] == "auto-replied" and "support@example.com" in ack["From"]
    assert "by mx.test.example" in ack["Received"]  # It really went through Postfix.
    with store.reading() as tx:
        [raw] = tx.exec(select(RawMessage)).all()
    assert (raw.source, raw.mail_from, raw.rcpt_tos) == ("smtp", "anne@customer.example", ["support@example.com"])


def test_the_pipe_transport_stores_mail_with_its_envelope_through_gateway_inject(mta, pipe_folder):
    postfix, until, _ = mta
    to_postfix(postfix, make_mail(to="billing@example.com", message_id="<piped@customer.example>"),
               "billing@example.com")
    to_postfix(postfix, make_mail(to="billing@example.com", message_id="<bounce@customer.example>"),
               "billing@example.com", mail_from="")
    # Opened only once the pipe has created it: a root-owned empty file would lock the pipe's user out.
    until(lambda: (pipe_folder / "pipe.db").exists())
    piped = Store(f"sqlite:///{pipe_folder}/pipe.db")

    def stored() -> list[RawMessage]:
        try:
            with piped.reading() as tx:
                return list(tx.exec(select(RawMessage)).all())
        except OperationalError:  # Not there yet, or the first inject is still creating it.
            return []

    try:
        until(lambda: len(stored()) == 2)
        rows = sorted(stored(), key=lambda r: r.mail_from)
        assert [(r.source, r.mail_from, r.rcpt_tos) for r in rows] == [
            ("pipe", "", ["billing@example.com"]), ("pipe", "anne@customer.example", ["billing@example.com"])]
        assert b"Return-Path: <anne@customer.example>" in rows[1].raw  # flags=R
    finally:
        piped.dispose()


def test_a_real_bounce_from_postfix_comes_back_to_our_verp_address_and_lands_on_the_conversation(mta, store, clock):
    postfix, until, _ = mta
    to_postfix(postfix, make_mail(sender="Bob <bob@dead.example>", message_id="<bob-1@dead.example>"),
               "support@example.com", mail_from="bob@dead.example")

    def noted() -> list[Note]:
        with store.reading() as tx:
            return list(tx.exec(select(Note).where(Note.kind == "delivery_failed")).all())

    until(lambda: bool(noted()))
    [note] = noted()
    [ack] = outbox(store)
    assert ack.mail_from.startswith("support+bounce-")
    assert ack.message_id in note.body and "bob@dead.example" in note.body and "5.1.1" in note.body
    with store.reading() as tx:
        assert tx.exec(select(Customer.bounced_at).where(Customer.address == "bob@dead.example")).one() == clock()
        assert len(tx.exec(select(OutboxItem)).all()) == 1  # The bounce got no reply.


def test_a_recipient_postfix_refuses_is_a_hard_bounce_at_once(mta, store, clock):
    postfix, until, _ = mta
    to_postfix(postfix, make_mail(sender="Carl <carl@customer.example>", message_id="<carl@customer.example>"),
               "support@example.com", mail_from="carl@customer.example")
    until(lambda: outbox(store) and outbox(store)[0].status == OutboxStatus.FAILED)
    [item] = outbox(store)
    assert "5.1.1" in item.last_error and "carl@customer.example" in item.last_error
    with store.reading() as tx:
        assert tx.exec(select(Customer.bounced_at).where(Customer.address == "carl@customer.example")).one() == clock()
