"""`gateway export` and `gateway import`: complete archives, a round trip into an empty install, history that sends
nothing, the public corpora's mailboxes, and interrupted work that resumes."""

from __future__ import annotations

import base64
import json
import mailbox
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlmodel import SQLModel, select
from typer.testing import CliRunner

import gateway.archive.importer
import gateway.cli.export
from gateway.cli import app
from gateway.models import (Agent, Conversation, Customer, ImportCheckpoint, Message, OutboxItem, OutboxStatus, RawMessage,
                            RawState, Survey)
from gateway.store import Store
from tests.helpers import CORPORA, conversations, deliver, make_mail, outbox_items
from tests.test_delivery_reports import dsn_about

runner = CliRunner()
SISIMAI = CORPORA / "sisimai-set-of-emails"
needs_corpora = pytest.mark.skipif(not SISIMAI.is_dir(), reason=f"public corpora not found at {SISIMAI}")


def cli(env, *args: str, code: int = 0):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result


def empty(store: Store) -> None:
    """An install with nothing in it: every row gone, the schema kept."""
    with store.transaction() as tx:
        for table in reversed(SQLModel.metadata.sorted_tables):
            tx.exec(delete(table))  # type: ignore[call-overload]


@pytest.fixture
def history(env, processor, store) -> list[str]:
    """Conversations in every state an archive must keep: tagged, assigned, answered, resolved, split, a note."""
    with store.transaction() as tx:
        tx.add(Agent(address="alice@example.com", name="Alice"))
    deliver(processor, make_mail(body="From the office printer: it says offline.\n>From here it looks fine.\n"))
    deliver(processor, make_mail(sender="Bo <bo@other.example>", subject="Invoice wrong", message_id="<i@x>"))
    deliver(processor, make_mail(subject="Re: Printer offline", message_id="<req-2@customer.example>",
                                 body="Also: can I get a refund?\n", In_Reply_To="<req-1@customer.example>"))
    first, second = [c.ref for c in conversations(store)]
    cli(env, "conversations", "tag", first, "printer", "vip")
    cli(env, "conversations", "assign", first, "alice")
    cli(env, "conversations", "note", first, "Checked the logs")
    cli(env, "conversations", "close", second)
    record = json.loads(cli(env, "conversations", "show", first, "--json").stdout)
    refund = next(m["id"] for m in record["messages"] if m["message_id"] == "<req-2@customer.example>")
    split = cli(env, "conversations", "split", first, "--from", str(refund)).stdout.strip().rsplit(" ", 1)[1]
    answer = Path(os.environ.get("TMPDIR", "/tmp")) / f"answer-{os.getpid()}.txt"
    answer.write_text("Hi Anne,\n\nThe refund is on its way.\n\nAlice\n")
    cli(env, "conversations", "reply", split, "--file", str(answer), "--as", "alice")
    return [first, second, split]


def _shape(store: Store) -> dict[str, tuple]:
    """What makes a conversation the same conversation, message by message."""
    shape = {}
    with store.reading() as tx:
        for c in tx.exec(select(Conversation)).all():
            messages = tx.exec(select(Message.message_id, Message.direction, Message.kind, Message.subject)
                               .where(Message.conversation_id == c.id).order_by(Message.created_at, Message.id)).all()
            agent = tx.get(Agent, c.assignee_id) if c.assignee_id else None
            shape[c.ref] = (c.subject, c.channel, c.status, c.priority, tuple(c.tags), agent.address if agent else None,
                            c.first_response_at is not None, tuple(sorted(messages)))
    return shape


def test_jsonl_export_is_complete(env, history, store, tmp_path):
    out = tmp_path / "all.jsonl"
    result = cli(env, "export", "--format", "jsonl", str(out))
    assert result.stdout.strip() == f"wrote 3 conversations to {out}"
    assert "export: 3/3 (100%), done in" in result.stderr
    records = {r["ref"]: r for r in map(json.loads, out.read_text().splitlines())}
    first = records[history[0]]
    assert first["tags"] == ["printer", "vip"] and first["assignee"] == "alice@example.com"
    assert [n["body"] for n in first["notes"] if n["kind"] == "agent_note"] == ["Checked the logs"]
    assert first["ratings"] == [] and records[history[2]]["linked_to"] == history[0]
    with store.reading() as tx:
        raw = tx.exec(select(RawMessage.raw).order_by(RawMessage.id)).first()
        ack = tx.exec(select(OutboxItem.raw).where(OutboxItem.kind == "acknowledgement")).first()
    assert base64.b64decode(first["messages"][0]["raw"]) == raw
    assert ack in {base64.b64decode(m["raw"]) for m in first["messages"] if m["direction"] == "out"}
    assert all("raw" in m for r in records.values() for m in r["messages"])


def test_jsonl_export_carries_each_conversations_rating_and_comment(env, history, store, tmp_path):
    sent = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with store.transaction() as tx:
        closed = tx.exec(select(Conversation).where(Conversation.ref == history[1])).one()
        tx.add(Survey(conversation_id=closed.id, customer_id=closed.customer_id, channel=closed.channel,
                      message_id="<survey@example.com>", sent_at=sent, expires_at=sent + timedelta(days=14),
                      rating=4, comment="Quick, thanks", rated_at=sent + timedelta(hours=2), rated_via="mail"))
    out = tmp_path / "all.jsonl"
    cli(env, "export", "--format", "jsonl", str(out))
    records = {r["ref"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert records[history[1]]["ratings"] == [{
        "sent_at": "2026-03-02T09:00:00+00:00", "choices": 5, "rating": 4, "comment": "Quick, thanks",
        "rated_at": "2026-03-02T11:00:00+00:00", "rated_via": "mail"}]
    assert records[history[0]]["ratings"] == []


def test_a_terminal_gets_a_progress_bar_with_count_and_time_left(env, history, tmp_path):
    result = cli({**env, "FORCE_COLOR": "1", "COLUMNS": "100"}, "export", str(tmp_path / "all.jsonl"))
    assert "━" in result.stderr and "3/3" in result.stderr and "eta" in result.stderr


def test_export_of_one_conversation_to_standard_output(env, history):
    result = cli(env, "export", "--conversation", history[1].lower(), "-")
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["ref"] == history[1] and record["status"] == "resolved"
    assert "export: 1/1" in result.stderr  # The progress goes to stderr, never into the data.
    assert cli(env, "export", "--conversation", "NOPE2345", "-", code=1).stderr.startswith(
        "error: no conversation 'NOPE2345'")


def test_export_since_takes_conversations_active_since(env, history, store, tmp_path):
    with store.transaction() as tx:
        for c in tx.exec(select(Conversation)).all():
            c.updated_at = c.updated_at.replace(year=2020)
    result = cli(env, "export", "--since", "2d", "-")
    assert result.stdout == ""
    assert len(cli(env, "export", "--since", "2019-01-01", "-").stdout.splitlines()) == 3


def test_mbox_export_is_an_mbox_any_reader_opens(env, history, store, tmp_path):
    out = tmp_path / "all.mbox"
    cli(env, "export", "--format", "mbox", str(out))
    box = mailbox.mbox(out, create=False)
    with store.reading() as tx:
        stored = tx.exec(select(Message.message_id).where(Message.conversation_id.is_not(None))).all()  # type: ignore[union-attr]
    assert sorted(m["Message-ID"] for m in box) == sorted(stored)
    assert {m["X-Gateway-Ref"] for m in box} == set(history)
    first = next(m for m in box if m["Message-ID"] == "<req-1@customer.example>")
    # mboxrd: a body line starting "From " is escaped, so the reader never sees a new message there.
    assert b"\n>From the office printer" in first.as_bytes() and b"\n>>From here" in first.as_bytes()


def test_an_mbox_export_imported_into_an_empty_install_gives_the_same_conversations(env, history, store, tmp_path):
    out = tmp_path / "all.mbox"
    cli(env, "export", "--format", "mbox", str(out))
    before = _shape(store)
    empty(store)
    # Alice answered and was assigned in the archive: without her on the roster, her mail would open conversations.
    refused = cli(env, "import", "mbox", str(out), code=1).stderr
    assert "alice@example.com (" in refused and "gateway agents add" in refused and conversations(store) == []
    with store.transaction() as tx:
        tx.add(Agent(address="alice@example.com", name="Alice"))
    result = cli(env, "import", "mbox", str(out))
    assert "into 3 conversations; nothing was sent" in result.stdout
    assert _shape(store) == before
    assert outbox_items(store) == []
    with store.reading() as tx:
        body = tx.exec(select(Message.text).where(Message.message_id == "<req-1@customer.example>")).one()
    assert body.startswith("From the office printer") and ">From here" in body
    # The customer writes again: their mail joins the imported conversation, which is acknowledged as usual.
    text = json.loads(cli(env, "conversations", "show", history[1], "--json").stdout)
    assert text["status"] == "resolved"


def test_a_bounce_goes_back_to_its_conversation_in_an_install_with_another_secret(env, processor, store, tmp_path):
    deliver(processor, make_mail())
    [ack] = outbox_items(store)
    deliver(processor, dsn_about(ack), mail_from="")
    (ref,) = [c.ref for c in conversations(store)]
    out = tmp_path / "all.mbox"
    cli(env, "export", "--format", "mbox", str(out))
    empty(store)
    cli({**env, "GATEWAY_MAIL_SECRET": "another install's secret"}, "import", "mbox", str(out))
    (conversation,) = conversations(store)
    kinds = [m["kind"] for m in json.loads(cli(env, "conversations", "show", ref, "--json").stdout)["messages"]]
    assert conversation.ref == ref and "bounce" in kinds


def test_mail_with_no_from_address_comes_back_as_its_senders_from_an_mbox_export(env, processor, store, tmp_path):
    no_from = re.sub(rb"^From: [^\r\n]*\r\n", b"", make_mail(subject="No from here"), flags=re.M)
    deliver(processor, no_from, mail_from="gina@cust-e.example")
    before = _shape(store)
    out = tmp_path / "all.mbox"
    cli(env, "export", "--format", "mbox", str(out))
    empty(store)
    assert "(2 new) into 1 conversation" in cli(env, "import", "mbox", str(out)).stdout  # hers and our answer
    assert _shape(store) == before
    with store.reading() as tx:
        assert tx.exec(select(Customer.address)).all() == ["gina@cust-e.example"]


def test_importing_the_same_mailbox_again_adds_nothing(env, history, store, tmp_path):
    out = tmp_path / "all.mbox"
    cli(env, "export", "--format", "mbox", str(out))
    again = cli(env, "import", "mbox", str(out))  # Into the install it came from: every mail is known.
    assert "(9 already here) into 0 conversations" in again.stdout
    assert len(_shape(store)) == 3
    copy = tmp_path / "copy.mbox"
    copy.write_bytes(out.read_bytes())
    before = _shape(store)
    cli(env, "import", "mbox", str(copy))
    assert _shape(store) == before
    rerun = cli(env, "import", "mbox", str(copy))
    assert "was imported already" in rerun.stdout and "imported 0 messages" in rerun.stdout


def _maildir(path: Path, mails: list[bytes]) -> None:
    box = mailbox.Maildir(path, create=True)
    for raw in mails:
        box.add(raw)


def test_a_maildir_history_is_threaded_our_replies_kept_and_nothing_sent(env, store, tmp_path):
    reply = EmailMessage()
    reply["From"], reply["To"], reply["Subject"] = "Support <support@example.com>", "anne@customer.example", "Re: Hi"
    reply["Message-ID"], reply["In-Reply-To"] = "<our-1@example.com>", "<req-1@customer.example>"
    reply["Date"] = "Mon, 02 Mar 2026 10:00:00 +0000"
    reply.set_content("Try restarting it.\n")
    _maildir(tmp_path / "Support", [
        make_mail(),
        reply.as_bytes(),
        make_mail(subject="Re: Printer offline", message_id="<req-2@customer.example>", body="It worked!\n",
                  In_Reply_To="<our-1@example.com>", References="<req-1@customer.example> <our-1@example.com>"),
    ])
    result = cli(env, "import", "maildir", str(tmp_path / "Support"), "--channel", "support@example.com")
    assert result.stdout.startswith("imported 3 messages") and "into 1 conversation; nothing was sent" in result.stdout
    (conversation,) = conversations(store)
    assert conversation.status == "resolved"  # History is not a queue.
    record = json.loads(cli(env, "conversations", "show", conversation.ref, "--json").stdout)
    assert [(m["direction"], m["kind"]) for m in record["messages"]] == [
        ("in", "customer"), ("out", "agent_reply"), ("in", "customer")]
    assert record["first_response_at"].startswith("2026-03-02T10:00") and record["created_at"].startswith("2026-03-02")
    assert outbox_items(store) == []


def test_import_asks_for_the_agents_first_when_colleagues_answered_customers_in_the_archive(env, store, tmp_path):
    answer = EmailMessage()
    answer["From"], answer["To"], answer["Subject"] = "Alice <alice@example.com>", "anne@customer.example", "Re: Hi"
    answer["Message-ID"], answer["In-Reply-To"] = "<alice-1@example.com>", "<req-1@customer.example>"
    answer.set_content("Try restarting it.\n")
    # A colleague writing to the support desk is a customer of it, not an agent.
    internal = make_mail(sender="Carl <carl@example.com>", subject="VPN down", message_id="<carl-1@example.com>")
    _maildir(tmp_path / "Support", [make_mail(), answer.as_bytes(), internal])
    refused = cli(env, "import", "maildir", str(tmp_path / "Support"), code=1)
    assert refused.stderr.startswith("error: ") and refused.stderr.count("\n") == 1
    assert "alice@example.com (1 message)" in refused.stderr and "carl" not in refused.stderr
    assert "gateway agents add" in refused.stderr and "--force" in refused.stderr
    assert conversations(store) == []  # Nothing stored: the same command works once the agent is added.
    with store.transaction() as tx:
        tx.add(Agent(address="alice@example.com", name="Alice", active=False))
    assert "alice@example.com (1 message)" in cli(env, "import", "maildir", str(tmp_path / "Support"), code=1).stderr, \
        "a removed agent's answers would be classified as a customer's"
    cli(env, "agents", "add", "alice@example.com")
    cli(env, "import", "maildir", str(tmp_path / "Support"))
    assert sorted(c.subject for c in conversations(store)) == ["Printer offline", "VPN down"]


def test_the_agents_an_archive_names_are_its_answers_authors_not_the_readers_of_its_notifications():
    from gateway.archive.colleagues import unlisted_agents
    from gateway.archive.headers import archive_header

    def exported(kind: str, agent: str) -> bytes:
        return archive_header("K7Q2M9XA", {"direction": "out", "kind": kind, "agent": agent}, {}) + make_mail()

    found = unlisted_agents([exported("notification", "bob@example.com"), exported("agent_reply", "alice@example.com")],
                            frozenset({"support@example.com"}), frozenset())
    assert found == {"alice@example.com": 1}


def test_import_with_force_takes_a_colleague_s_answers_as_customer_mail(env, store, tmp_path):
    answer = make_mail(sender="Alice <alice@example.com>", to="anne@customer.example", subject="Re: Hi",
                       message_id="<alice-1@example.com>")
    _maildir(tmp_path / "Support", [answer])
    cli(env, "import", "maildir", str(tmp_path / "Support"), "--force")
    assert [c.subject for c in conversations(store)] == ["Re: Hi"]


def test_import_refuses_what_it_cannot_read_in_one_line(env, tmp_path):
    (tmp_path / "folder").mkdir()
    assert cli(env, "import", "mbox", str(tmp_path / "folder"), code=2).stderr.startswith(
        "error: " + str(tmp_path / "folder") + " is not an mbox file")
    assert "does not exist" in cli(env, "import", "mbox", str(tmp_path / "nope"), code=2).stderr
    (tmp_path / "x.mbox").write_text("")
    assert cli(env, "import", "mbox", str(tmp_path / "x.mbox"), "--channel", "sales@example.com",
                   code=2).stderr.strip() == ("error: --channel sales@example.com: not one of [mail] addresses "
                                              "(support@example.com, billing@example.com)")


@needs_corpora
def test_the_public_corpora_mboxes_import_with_progress_and_nothing_is_answered(env, store):
    outputs = {}
    for name in ("mbox-0", "mbox-1", "size-0", "size-1", "size-2"):
        result = cli(env, "import", "mbox", str(SISIMAI / "mailbox" / name))
        outputs[name] = result
    progress = outputs["mbox-0"].stderr.splitlines()
    assert progress[0] == "import: 0/37 (0%), starting" and progress[-1].startswith("import: 37/37 (100%), done in")
    assert outputs["mbox-0"].stdout.startswith("imported 37 messages")
    assert outputs["mbox-1"].stdout.startswith("imported 1 message from")
    assert all(outputs[n].stdout.startswith("imported 0 messages") for n in ("size-0", "size-1", "size-2"))
    with store.reading() as tx:
        states = tx.exec(select(RawMessage.state, RawMessage.source)).all()
    assert len(states) == 38 and {s for _, s in states} == {"import"}
    assert {s for s, _ in states} <= {RawState.PROCESSED, RawState.DUPLICATE}
    # Every one is a bounce: none opens a conversation, and nothing at all is sent.
    assert conversations(store) == [] and outbox_items(store) == []
    # maildir/err holds mbox-0's mails, one file each: by this second way in they are known. Two of the files
    # differ from their mbox copy (the quoted Subject is MIME-encoded there): same Message-ID, other content, so
    # they are kept apart, as de-duplication keeps any reused Message-ID.
    again = cli(env, "import", "maildir", str(SISIMAI / "maildir" / "err"))
    assert "(35 already here, 2 new) into 0 conversations; nothing was sent" in again.stdout
    assert outbox_items(store) == []


def _numbered_mbox(path: Path, count: int) -> None:
    box = mailbox.mbox(path, create=True)
    for n in range(count):
        box.add(make_mail(sender=f"C{n} <c{n}@customer.example>", subject=f"Question {n}", message_id=f"<q{n}@x>",
                          body=f"Question number {n}, in detail.\n"))
    box.flush()
    box.close()


def test_an_interrupted_import_resumes_where_it_stopped(env, store, tmp_path, monkeypatch):
    path = tmp_path / "old.mbox"
    _numbered_mbox(path, 12)
    monkeypatch.setattr(gateway.archive.importer, "BATCH", 5)
    real = gateway.archive.importer.Processor.process
    calls = []

    def interrupted(self, *ids):  # type: ignore[no-untyped-def]
        calls.append(ids)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C after the second batch was stored, before it was processed.
        return real(self, *ids)

    monkeypatch.setattr(gateway.archive.importer.Processor, "process", interrupted)
    result = cli(env, "import", "mbox", str(path), code=130)
    assert result.stderr.strip().splitlines()[-1] == (
        "error: interrupted after 10 of 12 messages; the same command again resumes there")
    monkeypatch.setattr(gateway.archive.importer.Processor, "process", real)
    again = cli(env, "import", "mbox", str(path))
    assert again.stderr.startswith("import: 10/12 (83%), resuming")
    with store.reading() as tx:
        assert len(tx.exec(select(RawMessage.id)).all()) == 12
        assert tx.get(ImportCheckpoint, f"mbox:{path.resolve()}").position == 12
    assert len(conversations(store)) == 12 and outbox_items(store) == []


def test_an_interrupted_export_resumes_and_the_file_appears_only_when_complete(env, history, tmp_path, monkeypatch):
    out = tmp_path / "all.jsonl"
    monkeypatch.setattr(gateway.cli.export, "BATCH", 1)
    real = gateway.cli.export.jsonl_lines
    calls = []

    def interrupted(tx, batch):  # type: ignore[no-untyped-def]
        calls.append(batch)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(tx, batch)

    monkeypatch.setattr(gateway.cli.export, "jsonl_lines", interrupted)
    result = cli(env, "export", str(out), code=130)
    assert "interrupted after 2 conversations" in result.stderr and not out.exists()
    assert len((tmp_path / "all.jsonl.part").read_text().splitlines()) == 2
    monkeypatch.setattr(gateway.cli.export, "jsonl_lines", real)
    again = cli(env, "export", str(out))
    assert "resuming: 2 conversations already in" in again.stderr
    assert [json.loads(line)["ref"] for line in out.read_text().splitlines()] == sorted(history, key=history.index)
    assert not (tmp_path / "all.jsonl.part").exists() and not (tmp_path / "all.jsonl.part.json").exists()


@pytest.mark.integration
def test_ctrl_c_stops_a_real_import_and_running_it_again_finishes_it(env, store, tmp_path):
    path = tmp_path / "big.mbox"
    _numbered_mbox(path, 400)
    command = [str(Path(sys.executable).parent / "gateway"), "import", "mbox", str(path)]
    child = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with store.reading() as tx:
            checkpoint = tx.get(ImportCheckpoint, f"mbox:{path.resolve()}")
        if checkpoint is not None and checkpoint.position >= 100:
            break
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, stderr
    assert "the same command again resumes there" in stderr
    with store.reading() as tx:
        stopped_at = tx.get(ImportCheckpoint, f"mbox:{path.resolve()}").position
    assert 100 <= stopped_at < 400
    done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with store.reading() as tx:
        assert len(tx.exec(select(RawMessage.id)).all()) == 400
        assert tx.exec(select(OutboxItem.id).where(OutboxItem.status == OutboxStatus.PENDING)).all() == []
    assert len(conversations(store)) == 400


def test_an_export_into_a_missing_folder_is_one_line_naming_the_folder(env, tmp_path):
    result = cli(env, "export", str(tmp_path / "nope" / "all.mbox"), code=2)
    assert f"the folder {tmp_path / 'nope'} does not exist" in result.output and ".part" not in result.output
