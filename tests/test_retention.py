"""`gateway retention apply`: raw bytes of settled mail go after [storage] keep_raw; conversations keep their text."""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
import os
from datetime import timedelta

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import replace
from gateway.inbound.accept import Envelope, accept
from gateway.models import Message, OutboxItem, OutboxStatus, RawMessage, RawState
from gateway.pipeline import Processor
from gateway.retention import apply_retention, removable
from gateway.runtime import Runtime
from gateway.store import Store
from tests.conftest import SECRET
from tests.helpers import deliver, make_mail

runner = CliRunner()


def _raws(store) -> dict[str, RawMessage]:
    with store.reading() as tx:
        return {r.mail_from: r for r in tx.exec(select(RawMessage)).all()}  # type: ignore[misc]


def test_old_settled_mail_loses_its_bytes_and_keeps_its_text(processor, store, clock):
    deliver(processor, make_mail(message_id="<old@x>"), mail_from="anne@customer.example")
    old = clock.now
    clock.advance(days=400)
    deliver(processor, make_mail(sender="Bo <bo@x.example>", message_id="<new@x>"), mail_from="bo@x.example")
    with store.transaction() as tx:  # Sent long ago, like the first acknowledgement.
        for item in tx.exec(select(OutboxItem)).all():
            item.status = OutboxStatus.SENT
    cutoff = clock.now - timedelta(days=365)
    assert removable(store, cutoff).raw_messages == 1
    removed = apply_retention(store, cutoff, clock.now)
    assert (removed.raw_messages, removed.sent_mails) == (1, 1) and removed.bytes > 0
    raws = _raws(store)
    assert raws["anne@customer.example"].raw == b"" and raws["anne@customer.example"].purged_at == clock.now
    assert raws["bo@x.example"].raw != b"" and raws["bo@x.example"].purged_at is None
    with store.reading() as tx:
        text = tx.exec(select(Message.text).where(Message.message_id == "<old@x>")).one()
        sent = {i.created_at: i.raw for i in tx.exec(select(OutboxItem)).all()}
    assert "printer says it is offline" in text
    assert sent[old] == b"" and sent[clock.now] != b""
    assert apply_retention(store, cutoff, clock.now).raw_messages == 0  # Nothing twice.


def test_waiting_and_quarantined_mail_keeps_its_bytes_whatever_its_age(processor, store, clock):
    deliver(processor, make_mail(sender="Support <support@example.com>", message_id="<loop@x>"),
            mail_from="support@example.com")  # Our own address: a loop, quarantined.
    accept(make_mail(message_id="<waiting@x>"), Envelope("w@x.example", ("support@example.com",), "", "smtp"),
           store=store, now=clock.now)
    clock.advance(days=400)
    apply_retention(store, clock.now - timedelta(days=1), clock.now)
    states = {r.state: r.raw for r in _raws(store).values()}
    assert states[RawState.QUARANTINED] != b"" and states[RawState.RECEIVED] != b""


def test_a_shared_raw_file_goes_with_the_last_row_that_names_it(settings, store, clock, tmp_path):
    files = Store.for_settings(replace(settings, storage={"raw": "files", "raw_dir": str(tmp_path / "raw")}))
    processor = Processor(Runtime(files, settings, SECRET, clock))
    raw = make_mail()
    deliver(processor, raw, rcpts=("support@example.com",))
    key = next(iter(_raws(files).values())).spool
    path = files.raw_files.path(key)
    clock.advance(days=10)
    deliver(processor, raw, rcpts=("billing@example.com",))  # The same bytes again: a duplicate, one file.
    os.utime(path, (0, 0))  # The file's last use is long before any cut-off.
    apply_retention(files, clock.now - timedelta(days=5), clock.now)
    assert path.exists(), "the newer row still names it"
    clock.advance(days=10)
    apply_retention(files, clock.now - timedelta(days=5), clock.now)
    assert not path.exists() and all(r.spool == "" for r in _raws(files).values())
    files.dispose()


def test_an_export_after_retention_writes_the_kept_text_and_imports_again(processor, store, clock, database_url,
                                                                            monkeypatch, tmp_path):
    deliver(processor, make_mail(message_id="<old@x>"))
    clock.advance(days=400)
    apply_retention(store, clock.now - timedelta(days=365), clock.now)
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    env = {"GATEWAY_DATABASE_URL": database_url}
    out = tmp_path / "old.mbox"
    assert runner.invoke(app, ["export", "--format", "mbox", str(out)], env=env).exit_code == 0
    (entry,) = [m for m in mailbox.mbox(str(out)) if m["X-Gateway-Message"] and "direction=in" in
                m["X-Gateway-Message"]]
    mail = email.message_from_bytes(entry.as_bytes(), policy=email.policy.default)
    assert mail["Message-ID"] == "<old@x>" and mail["X-Gateway-Raw-Removed"].startswith("by retention")
    assert "printer says it is offline" in mail.get_body(("plain",)).get_content()


@pytest.mark.parametrize(("args", "says"), [
    ([], "[storage] keep_raw is 0d"),
    (["--older-than", "soon"], "--older-than 'soon' is not"),
    (["--older-than", "0d"], "--older-than 0d keeps everything"),
    (["--older-than", "365"], "'365' has no unit; write 365d"),
])
def test_retention_refuses_in_one_line_without_a_cut_off(database_url, monkeypatch, args, says):
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    result = runner.invoke(app, ["retention", "apply", *args], env={"GATEWAY_DATABASE_URL": database_url})
    assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output


def test_retention_dry_run_counts_and_removes_nothing(processor, store, database_url, monkeypatch):
    deliver(processor, make_mail())
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    env = {"GATEWAY_DATABASE_URL": database_url, "GATEWAY_STORAGE_KEEP_RAW": "1s"}
    # The fixture's clock is in 2026-03; the command's clock is now, so everything stored is old enough.
    result = runner.invoke(app, ["retention", "apply", "--dry-run", "--json"], env=env)
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["dry_run"] and found["raw_messages"] == 1 and found["bytes"] > 0
    assert next(iter(_raws(store).values())).raw != b""
    done = json.loads(runner.invoke(app, ["retention", "apply", "--json"], env=env).output)
    assert done["raw_messages"] == 1 and next(iter(_raws(store).values())).purged_at is not None
