"""How far each IMAP folder has been read, kept in the store and moved on in the same commit as the mail."""

from __future__ import annotations

from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlmodel import Session, select

from gateway.config import MailboxSettings
from gateway.errors import StorageError
from gateway.inbound.accept import Envelope, accept_many
from gateway.models import ImapState
from gateway.store import Store


class ReadElsewhereError(StorageError):
    """The folder's state moved under us: another gateway read it; this batch is not stored."""


def load_state(store: Store, key: str) -> ImapState | None:
    with store.reading() as tx:
        return tx.get(ImapState, key)


def save_state(store: Store, state: ImapState) -> None:
    """Write the whole state (first sight of a folder, or a reset after UIDVALIDITY changed)."""
    with store.transaction() as tx:
        tx.merge(state)


def _locked(tx: Session, expected: ImapState) -> ImapState:
    state = tx.exec(select(ImapState).where(ImapState.mailbox == expected.mailbox).with_for_update()).first()
    if state is None or (state.uidvalidity, state.last_uid) != (expected.uidvalidity, expected.last_uid):
        raise ReadElsewhereError(f"{expected.mailbox} was read by someone else meanwhile")
    return state


def envelope_of(raw: bytes, box: MailboxSettings) -> Envelope:
    """IMAP has no envelope: Return-Path (added at delivery) stands in for MAIL FROM, the mailbox's address for RCPT."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw[:65536])
    return_path = headers.get("Return-Path")
    mail_from = None if return_path is None else str(return_path).strip().strip("<>").strip()
    return Envelope(mail_from, (box.address,) if box.address else (), box.host, "imap")


def store_batch(store: Store, box: MailboxSettings, expected: ImapState, messages: list[tuple[int, bytes]],
                read_up_to: int, failed: list[int], now: datetime) -> tuple[ImapState, list[int]]:
    """Commit the messages and the new read position together; return the new state and the raw ids.
    Raises StorageError (ReadElsewhereError if another gateway moved the position first)."""
    result: list[ImapState] = []

    def advance(tx: Session) -> None:
        state = _locked(tx, expected)
        state.last_uid = max(state.last_uid, read_up_to)
        state.failed_uids = sorted((set(state.failed_uids) | set(failed)) - {uid for uid, _ in messages})
        state.updated_at = now
        tx.add(state)
        tx.flush()
        result.append(ImapState.model_validate(state.model_dump()))

    ids = accept_many([(raw, envelope_of(raw, box)) for _, raw in messages], store=store, now=now, then=advance)
    return result[0], ids


def mark_acted(store: Store, key: str, acted_uid: int, now: datetime) -> None:
    """Record that the after-import action was applied up to this UID."""
    with store.transaction() as tx:
        state = tx.get(ImapState, key)
        if state is not None and acted_uid > state.acted_uid:
            state.acted_uid, state.updated_at = acted_uid, now
            tx.add(state)
