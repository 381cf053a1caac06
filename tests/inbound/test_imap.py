"""IMAP intake against a real Dovecot: nothing lost, nothing twice, whatever else touches the mailbox."""

from __future__ import annotations

import logging

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlmodel import col, select

from gateway.config import ImapSettings, MailboxSettings
from gateway.inbound.imap import MailboxReader, batches
from gateway.inbound.imap_connect import ImapFault, connect, disconnect
from gateway.models import ImapState, OutboxItem, RawMessage, RawState
from tests.helpers import make_mail, messages, run_until_idle, smtp_send
from tests.servers.dovecot import PASSWORD, USER
from tests.servers.proxy import CuttingProxy

pytestmark = pytest.mark.integration


def mailbox(dovecot, tls_files, **keys) -> MailboxSettings:
    """The test Dovecot over IMAPS, trusting its self-signed certificate."""
    values = dict(host="127.0.0.1", port=dovecot.ssl_port, security="tls", ca_file=tls_files[0], user=USER,
                  password=PASSWORD)
    return MailboxSettings(**{**values, **keys})


def person(dovecot) -> IMAPClient:
    """Another client on the same mailbox: a colleague's phone, a webmail tab."""
    client = IMAPClient("127.0.0.1", dovecot.port, ssl=False)
    client.login(USER, PASSWORD)
    return client


def put(dovecot, *mails: bytes, folder: str = "INBOX", flags: tuple[bytes, ...] = ()) -> None:
    client = person(dovecot)
    if not client.folder_exists(folder):
        client.create_folder(folder)
    for mail in mails:
        client.append(folder, mail, flags=flags)
    client.logout()


def folder_state(dovecot, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
    client = person(dovecot)
    client.select_folder(folder, readonly=True)
    flags = client.get_flags(client.search(["ALL"]))
    client.logout()
    return {uid: tuple(f for f in found if f != b"\\Recent") for uid, found in flags.items()}


def read(reader: MailboxReader) -> int:
    """One pass over a fresh session, as the daemon's loop does it."""
    client = connect(reader.box, 10)
    try:
        return reader.sync(client)
    finally:
        disconnect(client)


def raws(store) -> list[RawMessage]:
    with store.reading() as tx:
        return list(tx.exec(select(RawMessage).order_by(col(RawMessage.id))).all())


def state(store, box: MailboxSettings) -> ImapState:
    with store.reading() as tx:
        return tx.get(ImapState, box.key)


def three_mails() -> list[bytes]:
    return [make_mail(subject=f"Question {n}", message_id=f"<q{n}@customer.example>",
                      body=f"Question number {n} about my printer.\n") for n in (1, 2, 3)]


def test_every_message_is_stored_and_only_then_marked_seen(dovecot, tls_files, store, clock):
    put(dovecot, *three_mails())
    reader = MailboxReader(mailbox(dovecot, tls_files), ImapSettings(), store, clock)
    assert read(reader) == 3
    stored = raws(store)
    assert [r.source for r in stored] == ["imap"] * 3
    assert [r.raw for r in stored] == three_mails()
    assert all(flags == (b"\\Seen",) for flags in folder_state(dovecot).values())
    assert (state(store, reader.box).last_uid, state(store, reader.box).acted_uid) == (3, 3)
    assert read(reader) == 0 and len(raws(store)) == 3


def test_mail_a_person_already_read_is_still_imported(dovecot, tls_files, store, clock):
    # Never trust \Seen to mean "handled": someone read it on their phone before the gateway looked.
    put(dovecot, *three_mails()[:2], flags=(b"\\Seen",))
    reader = MailboxReader(mailbox(dovecot, tls_files), ImapSettings(), store, clock)
    assert read(reader) == 2


def test_reading_does_not_mark_anything_before_it_is_stored(dovecot, tls_files, store, clock, monkeypatch):
    put(dovecot, *three_mails())
    reader = MailboxReader(mailbox(dovecot, tls_files), ImapSettings(), store, clock)

    def storage_down(*args, **kwargs):
        from gateway.errors import StorageError
        raise StorageError("disk full")

    monkeypatch.setattr("gateway.inbound.imap.store_batch", storage_down)
    with pytest.raises(Exception, match="disk full"):
        read(reader)
    assert all(flags == () for flags in folder_state(dovecot).values())  # BODY.PEEK[]: still unread


def test_move_mode_moves_each_message_after_it_is_stored(dovecot, tls_files, store, clock):
    put(dovecot, *three_mails())
    reader = MailboxReader(mailbox(dovecot, tls_files, after="move", move_to="Imported"), ImapSettings(), store,
                           clock)
    assert read(reader) == 3
    assert folder_state(dovecot) == {} and len(folder_state(dovecot, "Imported")) == 3
    put(dovecot, make_mail(message_id="<later@customer.example>"))
    assert read(reader) == 1 and folder_state(dovecot) == {} and len(folder_state(dovecot, "Imported")) == 4


def test_delete_mode_removes_only_what_it_imported(dovecot, tls_files, store, clock):
    put(dovecot, *three_mails())
    reader = MailboxReader(mailbox(dovecot, tls_files, after="delete"), ImapSettings(), store, clock)
    assert read(reader) == 3
    assert folder_state(dovecot) == {}
    # A message a person marked \Deleted but did not expunge is theirs to decide about: UID EXPUNGE spares it.
    put(dovecot, make_mail(message_id="<kept@customer.example>"), flags=(b"\\Deleted",))
    with store.transaction() as tx:  # As if that one were read already (it is the person's, not ours).
        row = tx.get(ImapState, reader.box.key)
        row.last_uid = row.acted_uid = 4
    put(dovecot, make_mail(message_id="<new@customer.example>"))
    assert read(reader) == 1
    assert list(folder_state(dovecot).values()) == [(b"\\Deleted",)]


def test_a_crash_between_storing_and_flagging_flags_later_and_imports_nothing_twice(dovecot, tls_files, store,
                                                                                  clock, monkeypatch):
    put(dovecot, *three_mails())
    box = mailbox(dovecot, tls_files, after="move", move_to="Done")
    crashing = MailboxReader(box, ImapSettings(), store, clock)
    monkeypatch.setattr(crashing, "_act", lambda client, st: (_ for _ in ()).throw(OSError("killed")))
    with pytest.raises(OSError):
        read(crashing)
    assert len(raws(store)) == 3 and len(folder_state(dovecot)) == 3
    assert read(MailboxReader(box, ImapSettings(), store, clock)) == 0
    assert len(raws(store)) == 3 and folder_state(dovecot) == {} and len(folder_state(dovecot, "Done")) == 3


def test_uidvalidity_change_rereads_the_folder_and_deduplication_drops_what_we_have(
        dovecot, tls_files, store, clock, processor):
    put(dovecot, *three_mails()[:2])
    reader = MailboxReader(mailbox(dovecot, tls_files), ImapSettings(), store, clock)
    assert read(reader) == 2
    run_until_idle(processor.run_once)
    dovecot.doveadm("mailbox", "update", "-u", USER, "--uid-validity", "4242", "INBOX")
    put(dovecot, three_mails()[2])
    assert read(reader) == 3
    assert state(store, reader.box).uidvalidity == 4242
    run_until_idle(processor.run_once)
    assert [r.state for r in raws(store)] == [RawState.PROCESSED] * 2 + [RawState.DUPLICATE] * 2 + [
        RawState.PROCESSED]
    assert len([m for m in messages(store) if m.direction == "in"]) == 3
    with store.reading() as tx:
        assert len(tx.exec(select(OutboxItem).where(OutboxItem.kind == "acknowledgement")).all()) == 3


def test_a_connection_killed_mid_fetch_loses_nothing_and_imports_nothing_twice(dovecot, tls_files, store, clock):
    def logs(prefix: str) -> list[bytes]:
        return [make_mail(subject=f"{prefix} {n}", message_id=f"<{prefix}{n}@customer.example>",
                          body="log line\n" * 4000) for n in range(4)]

    put(dovecot, *logs("first"))
    proxy = CuttingProxy(dovecot.port)
    try:
        box = mailbox(dovecot, tls_files, port=proxy.port, security="none")
        reader = MailboxReader(box, ImapSettings(batch_messages=2), store, clock)
        proxy.cut_after(60_000)  # In the middle of the first batch's bodies: nothing of it is stored.
        with pytest.raises((OSError, IMAPClientError)):
            read(reader)
        assert proxy.cuts == 1 and raws(store) == []
        assert read(reader) == 4
        # Cut again after the first batch was stored: only what was not stored is read again.
        put(dovecot, *logs("more"))
        proxy.cut_after(110_000)
        with pytest.raises((OSError, IMAPClientError)):
            read(reader)
        assert proxy.cuts == 2
        read(reader)
        assert [r.raw for r in raws(store)] == logs("first") + logs("more")
    finally:
        proxy.close()


def test_the_same_mail_over_smtp_and_imap_is_stored_once(dovecot, tls_files, store, clock, processor,
                                                           smtp_gateway):
    mail = make_mail(message_id="<both@customer.example>")
    smtp_send(smtp_gateway.hostname, smtp_gateway.port, mail, ["support@example.com"])
    put(dovecot, mail.replace(b"From:", b"Return-Path: <anne@customer.example>\r\nDelivered-To: "
                                        b"support@example.com\r\nFrom:", 1))
    assert read(MailboxReader(mailbox(dovecot, tls_files), ImapSettings(), store, clock)) == 1
    run_until_idle(processor.run_once)
    assert sorted(r.source for r in raws(store)) == ["imap", "smtp"]
    assert sorted(r.state for r in raws(store)) == [RawState.DUPLICATE, RawState.PROCESSED]
    assert len([m for m in messages(store) if m.direction == "in"]) == 1


def test_a_message_the_server_cannot_return_is_set_aside_and_retried_never_skipped_silently(
        dovecot, tls_files, store, clock, caplog):
    put(dovecot, *three_mails())
    maildir = dovecot.root / "home" / USER / "Maildir"
    files = sorted([*(maildir / "new").glob("*"), *(maildir / "cur").glob("*")], key=lambda p: p.name)
    files[1].chmod(0)  # Dovecot cannot open UID 2 and drops the session each time it is asked for it.
    reader = MailboxReader(mailbox(dovecot, tls_files), ImapSettings(), store, clock)
    tries = 0
    with caplog.at_level(logging.ERROR, logger="gateway.inbound.imap"):
        while True:
            tries += 1
            try:
                read(reader)
                break
            except Exception:
                assert tries < 10
    assert "dropped the connection 3 times when asked for UID 2" in caplog.text
    assert state(store, reader.box).failed_uids == [2]
    assert len(raws(store)) == 2
    assert folder_state(dovecot) == {1: (b"\\Seen",), 2: (), 3: (b"\\Seen",)}  # Not stored, so not flagged.
    # Dovecot has moved it from new/ to cur/ meanwhile (renamed with its flags): find it by its unique part.
    next(maildir.glob(f"*/{files[1].name.split(':')[0].split(',')[0]}*")).chmod(0o644)
    reader.failed_retry_interval = 0
    read(reader)
    assert state(store, reader.box).failed_uids == [] and len(raws(store)) == 3
    assert folder_state(dovecot)[2] == (b"\\Seen",)


def test_existing_skip_imports_only_mail_that_arrives_later(dovecot, tls_files, store, clock):
    put(dovecot, *three_mails()[:2])
    reader = MailboxReader(mailbox(dovecot, tls_files, existing="skip"), ImapSettings(), store, clock)
    assert read(reader) == 0
    put(dovecot, three_mails()[2])
    assert read(reader) == 1


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_both_kinds_of_tls_log_in(dovecot, tls_files, security):
    port = dovecot.ssl_port if security == "tls" else dovecot.port
    disconnect(connect(mailbox(dovecot, tls_files, security=security, port=port), 10))


@pytest.mark.parametrize(("keys", "problem"), [
    ({"password": "wrong"}, "refused the login of support"),
    ({"port": 1}, "cannot connect to 127.0.0.1:1"),
    ({"ca_file": ""}, "TLS with 127.0.0.1"),
], ids=["password", "down", "untrusted-certificate"])
def test_connection_problems_are_one_line_with_the_fix(dovecot, tls_files, keys, problem):
    with pytest.raises(ImapFault, match=problem) as caught:
        connect(mailbox(dovecot, tls_files, **keys), 5)
    assert caught.value.fix


def test_a_password_file_is_read(dovecot, tls_files, tmp_path):
    secret = tmp_path / "imap-password"
    secret.write_text(PASSWORD + "\n")
    disconnect(connect(mailbox(dovecot, tls_files, password="", password_file=str(secret)), 10))


def test_a_missing_folder_is_a_fault_with_the_fix(dovecot, tls_files, store, clock):
    reader = MailboxReader(mailbox(dovecot, tls_files, folder="Support"), ImapSettings(), store, clock)
    with pytest.raises(ImapFault, match="folder 'Support' does not exist"):
        read(reader)


def test_batches_bound_count_and_bytes():
    sizes = {1: 10, 2: 10, 3: 50, 4: 5, 5: 100, 6: 1}
    assert list(batches(sizes, 3, 60)) == [[1, 2], [3, 4], [5], [6]]
    assert list(batches(sizes, 2, 10_000)) == [[1, 2], [3, 4], [5, 6]]
    assert list(batches({}, 5, 5)) == []


def test_a_big_folder_is_read_a_chunk_and_a_batch_at_a_time(dovecot, tls_files, store, clock, monkeypatch):
    monkeypatch.setattr("gateway.inbound.imap._SIZE_CHUNK", 3)
    mails = [make_mail(subject=f"Q{n}", message_id=f"<chunk{n}@customer.example>") for n in range(7)]
    put(dovecot, *mails)
    reader = MailboxReader(mailbox(dovecot, tls_files), ImapSettings(batch_messages=2), store, clock)
    assert read(reader) == 7
    assert [r.raw for r in raws(store)] == mails
    assert state(store, reader.box).last_uid == 7


def test_a_message_left_out_of_the_size_answer_is_still_imported_before_it_is_deleted(
        dovecot, tls_files, store, clock, monkeypatch):
    put(dovecot, *three_mails())
    real = IMAPClient.fetch

    def hiccup(self, messages, data, modifiers=None):  # type: ignore[no-untyped-def]
        found = real(self, messages, data, modifiers)
        if data == ["RFC822.SIZE"]:
            found.pop(2, None)  # The server's answer leaves UID 2 out, though it is there.
        return found

    monkeypatch.setattr(IMAPClient, "fetch", hiccup)
    reader = MailboxReader(mailbox(dovecot, tls_files, after="delete"), ImapSettings(), store, clock)
    assert read(reader) == 3
    assert len(raws(store)) == 3 and folder_state(dovecot) == {}
