"""[storage] raw = "files": raw mail in content-addressed files, on disk before the 250, read back everywhere."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import smtplib
import time
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import replace
from gateway.health.storage import check_storage
from gateway.models import Agent, RawMessage
from gateway.pipeline import Processor
from gateway.raw_files import RawFiles
from gateway.runtime import Runtime
from gateway.store import Store
from tests.conftest import SECRET, listening
from tests.helpers import conversations, deliver, load_raw, make_mail, outbox_items, run_until_idle

runner = CliRunner()


@pytest.fixture
def files_settings(settings, tmp_path):
    return replace(settings, storage={"raw": "files", "raw_dir": str(tmp_path / "raw")})


@pytest.fixture
def files_store(files_settings, store):  # `store` migrates the database first
    files = Store.for_settings(files_settings)
    yield files
    files.dispose()


def test_smtp_mail_is_a_file_before_the_250_and_the_row_names_it(files_settings, files_store, clock):
    raw = make_mail()
    with listening(files_settings, files_store, clock) as gateway, smtplib.SMTP("127.0.0.1", gateway.port) as client:
        client.sendmail("anne@customer.example", ["support@example.com"], raw)
        with files_store.reading() as tx:  # Read the moment the 250 arrived.
            row = tx.exec(select(RawMessage)).one()
    assert row.raw == b"" and len(row.spool) == 64
    assert files_store.raw_files.path(row.spool).read_bytes() == raw


def test_mail_stored_as_files_is_processed_and_answered(files_settings, files_store, clock):
    processor = Processor(Runtime(files_store, files_settings, SECRET, clock))
    with listening(files_settings, files_store, clock) as gateway, smtplib.SMTP("127.0.0.1", gateway.port) as client:
        client.sendmail("anne@customer.example", ["support@example.com"], make_mail())
    run_until_idle(processor.run_once)
    assert len(conversations(files_store)) == 1
    assert [i.kind for i in outbox_items(files_store)] == ["acknowledgement"]


def test_the_same_bytes_twice_are_one_file(files_settings, files_store, clock):
    raw = make_mail()
    with listening(files_settings, files_store, clock) as gateway, smtplib.SMTP("127.0.0.1", gateway.port) as client:
        client.sendmail("anne@customer.example", ["support@example.com"], raw)
        client.sendmail("anne@customer.example", ["billing@example.com"], raw)
    with files_store.reading() as tx:
        spools = tx.exec(select(RawMessage.spool)).all()
    assert len(spools) == 2 and len(set(spools)) == 1
    assert len([p for p in files_store.raw_files.root.rglob("*") if p.is_file()]) == 1


def test_the_cli_reads_raw_mail_from_the_files(files_settings, files_store, clock, database_url, monkeypatch,
                                                 tmp_path):
    processor = Processor(Runtime(files_store, files_settings, SECRET, clock))
    with listening(files_settings, files_store, clock) as gateway, smtplib.SMTP("127.0.0.1", gateway.port) as client:
        client.sendmail("anne@customer.example", ["support@example.com"], make_mail())
    run_until_idle(processor.run_once)
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    env = {"GATEWAY_DATABASE_URL": database_url, "GATEWAY_STORAGE_RAW": "files",
           "GATEWAY_STORAGE_RAW_DIR": str(tmp_path / "raw")}
    exported = runner.invoke(app, ["export", "--format", "jsonl", "-"], env=env)
    assert exported.exit_code == 0, exported.output
    (line,) = exported.stdout.splitlines()
    first = json.loads(line)["messages"][0]
    assert b"Hello, my printer says it is offline." in base64.b64decode(first["raw"])


def test_agents_get_the_customers_attachment_read_from_its_file(files_settings, files_store, clock):
    with files_store.transaction() as tx:
        tx.add(Agent(address="alice@example.com", name="Alice"))
    processor = Processor(Runtime(files_store, files_settings, SECRET, clock))
    deliver(processor, load_raw("with_attachment.eml"))
    (notification,) = [i for i in outbox_items(files_store) if i.kind == "notification"]
    mail = email.message_from_bytes(notification.raw, policy=email.policy.default)
    assert [part.get_filename() for part in mail.iter_attachments()] == ["error-report.pdf"]


def test_doctor_says_raw_files_are_fine_where_raw_dir_is_a_writable_folder(files_settings, files_store):
    os.makedirs(files_settings.storage.raw_dir)
    [finding] = check_storage(files_settings)
    assert finding.ok and "files under" in finding.detail


def test_doctor_fails_with_the_fix_when_raw_dir_is_missing(files_settings, store):
    [finding] = check_storage(files_settings)
    assert not finding.ok and "mkdir -p" in finding.fix


def test_switching_back_to_the_database_without_raw_dir_is_caught_by_doctor_and_named_by_commands(
        files_settings, files_store, settings, store, database_url, monkeypatch, clock):
    processor = Processor(Runtime(files_store, files_settings, SECRET, clock))
    deliver(processor, make_mail())
    [finding] = check_storage(settings)  # raw = "database", raw_dir not set
    assert not finding.ok and "keep it set" in finding.fix
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    result = runner.invoke(app, ["export", "--format", "mbox", "-"], env={"GATEWAY_DATABASE_URL": database_url})
    assert result.exit_code == 1 and "is not under [storage] raw_dir (not set)" in result.output
    assert "Traceback" not in result.output and result.output.strip().splitlines()[-1].startswith("error: raw mail")
    [back] = check_storage(replace(settings, storage={"raw_dir": files_settings.storage.raw_dir}))
    assert back.ok and "stored earlier as files" in back.detail


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make files for another user")
def test_files_and_folders_made_by_root_belong_to_raw_dirs_owner(tmp_path):
    from gateway.raw_files import RawFiles

    root = tmp_path / "raw"
    root.mkdir()
    os.chown(root, 65534, 65534)  # the daemon's own user; an admin runs `sudo gateway import …`
    (key,) = RawFiles(root).put_many([b"Subject: hello\r\n\r\nbody\r\n"])
    made = [root / key[:2], root / key[:2] / key[2:4], root / key[:2] / key[2:4] / key]
    assert [(p.stat().st_uid, p.stat().st_gid) for p in made] == [(65534, 65534)] * 3


@pytest.mark.skipif(os.geteuid() != 0, reason="only root gives files away")
def test_a_filesystem_that_refuses_chown_still_stores_the_mail(tmp_path, monkeypatch):
    from gateway.raw_files import RawFiles

    root = tmp_path / "raw"
    root.mkdir()
    os.chown(root, 65534, 65534)

    def refuse(*_args: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chown", refuse)  # an NFS share with root squashed
    (key,) = RawFiles(root).put_many([b"Subject: hello\r\n\r\nbody\r\n"])
    assert RawFiles(root).get(key) == b"Subject: hello\r\n\r\nbody\r\n"


def _old_file(files: RawFiles, data: bytes) -> tuple[str, float]:
    """A stored file last touched a day ago, and a cut-off an hour ago."""
    (key,) = files.put_many([data])
    day_ago = time.time() - 86400
    os.utime(files.path(key), (day_ago, day_ago))
    return key, time.time() - 3600


def test_a_message_stored_again_while_retention_removes_its_file_keeps_its_bytes(tmp_path, monkeypatch):
    files, data = RawFiles(tmp_path), b"Subject: same bytes\r\n\r\nagain\r\n"
    key, cutoff = _old_file(files, data)
    unlink = Path.unlink

    def stored_again_first(self: Path, *args: object, **kwargs: object) -> None:
        monkeypatch.setattr(Path, "unlink", unlink)
        files.put_many([data])  # The same bytes arrive between retention's look at the file and its removal.
        unlink(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", stored_again_first)
    files.remove_older_than(key, cutoff)
    assert files.get(key) == data


def test_a_file_reused_just_before_retention_moves_it_is_put_back(tmp_path, monkeypatch):
    files, data = RawFiles(tmp_path), b"Subject: same bytes\r\n\r\nagain\r\n"
    key, cutoff = _old_file(files, data)
    rename = os.rename

    def reused_first(source: str, target: str) -> None:
        monkeypatch.setattr(os, "rename", rename)
        files.put_many([data])
        rename(source, target)

    monkeypatch.setattr(os, "rename", reused_first)
    assert files.remove_older_than(key, cutoff) == 0
    assert files.get(key) == data and [p.name for p in files.path(key).parent.iterdir()] == [key]


def test_an_old_file_nobody_reused_is_removed(tmp_path):
    files = RawFiles(tmp_path)
    key, cutoff = _old_file(files, b"Subject: old\r\n\r\nold\r\n")
    assert files.remove_older_than(key, cutoff) > 0
    assert not files.path(key).exists() and list(files.path(key).parent.iterdir()) == []


def test_retention_interrupted_while_judging_a_file_puts_it_back(tmp_path, monkeypatch):
    files, data = RawFiles(tmp_path), b"Subject: fresh\r\n\r\nfresh\r\n"
    (key,) = files.put_many([data])
    stat = Path.stat

    def interrupted(self: Path, *args: object, **kwargs: object) -> os.stat_result:
        if self.parent.name == ".removing":
            raise KeyboardInterrupt
        return stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.remove_older_than(key, time.time() - 3600)
    monkeypatch.setattr(Path, "stat", stat)
    assert files.get(key) == data


def test_a_file_a_killed_retention_run_left_aside_is_put_back_by_the_next_run(tmp_path):
    files, data = RawFiles(tmp_path), b"Subject: kept\r\n\r\nkept\r\n"
    (key,) = files.put_many([data])
    (tmp_path / ".removing").mkdir()
    os.rename(files.path(key), tmp_path / ".removing" / f"{key}.4242.1")  # SIGKILL right after the move
    assert files.recover() == 1
    assert files.get(key) == data and list((tmp_path / ".removing").iterdir()) == []
