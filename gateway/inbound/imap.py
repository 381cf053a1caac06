"""IMAP intake, one pass: read new mail by UID, store it through accept(), and only then flag, move or delete it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from gateway.config import ImapSettings, MailboxSettings
from gateway.inbound.imap_connect import ImapFault
from gateway.inbound.imap_store import load_state, mark_acted, save_state, store_batch
from gateway.models import ImapState
from gateway.store import Store

log = logging.getLogger(__name__)
# UIDs per FETCH of sizes: keeps each command line short, and what is held at once small.
_SIZE_CHUNK = 1000


def batches(sizes: dict[int, int], max_messages: int, max_bytes: int) -> Iterator[list[int]]:
    """UIDs in order, grouped so one batch holds at most max_messages and, beyond its first, max_bytes."""
    batch: list[int] = []
    total = 0
    for uid in sorted(sizes):
        if batch and (len(batch) >= max_messages or total + sizes[uid] > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += sizes[uid]
    if batch:
        yield batch


class MailboxReader:
    """One mailbox: `sync()` reads what is new over an open session (imap_loop keeps calling it)."""

    # Sessions lost fetching one message alone before it is set aside; how often set-aside ones are asked again.
    STRIKES = 3
    failed_retry_interval = 3600.0

    def __init__(self, box: MailboxSettings, imap: ImapSettings, store: Store, clock: Callable[[], datetime],
                 on_commit: Callable[[], None] = lambda: None) -> None:
        self.box, self.imap, self.store, self.clock, self.on_commit = box, imap, store, clock, on_commit
        self._careful = False
        self._strikes: dict[int, int] = {}
        self._retried_at: float | None = None

    def sync(self, client: IMAPClient) -> int:
        """Store every message past the read position, then apply the after-import action; return how many."""
        state = self._select(client)
        state = self._retry_failed(client, state)
        # "n:*" always matches the highest UID, even one below n: filter.
        uids = [u for u in client.search(["UID", f"{state.last_uid + 1}:*"]) if u > state.last_uid]
        imported = 0
        # Sizes a chunk at a time, then bodies a batch at a time: memory stays bounded however big the folder.
        for start in range(0, len(uids), _SIZE_CHUNK):
            for batch in batches(self._sizes(client, uids[start:start + _SIZE_CHUNK]), self.imap.batch_messages,
                                 self.imap.batch_bytes):
                state, count = self._import(client, state, batch)
                imported += count
        self._act(client, state)
        return imported

    def _select(self, client: IMAPClient) -> ImapState:
        box = self.box
        if not client.folder_exists(box.folder):
            raise ImapFault(f"folder {box.folder!r} does not exist on {box.host}",
                            "check folder (`gateway doctor` lists the folders there)")
        info = client.select_folder(box.folder)
        validity, uidnext = int(info[b"UIDVALIDITY"]), int(info.get(b"UIDNEXT", 0))
        state = load_state(self.store, box.key)
        now = self.clock()
        if state is None:
            start = max(uidnext - 1, 0) if box.existing == "skip" else 0
            state = ImapState(mailbox=box.key, uidvalidity=validity, last_uid=start, acted_uid=start, updated_at=now)
            save_state(self.store, state)
            log.info("mailbox %s: first read (UIDVALIDITY %d), %s", box.key, validity,
                     "skipping the mail already there" if start else "importing the mail already there")
        elif state.uidvalidity != validity:
            # The server renumbered the folder: UIDs mean nothing now. Read it all again; de-duplication
            # drops what we already have, and nothing is flagged, moved or deleted before it is stored.
            log.warning("mailbox %s: UIDVALIDITY changed from %d to %d; reading the whole folder again",
                        box.key, state.uidvalidity, validity)
            state = ImapState(mailbox=box.key, uidvalidity=validity, updated_at=now)
            save_state(self.store, state)
        return state

    @staticmethod
    def _sizes(client: IMAPClient, uids: list[int]) -> dict[int, int]:
        found = client.fetch(uids, ["RFC822.SIZE"])
        missing = [uid for uid in uids if uid not in found]
        # A message expunged meanwhile is simply gone. One still there that the server left out of its answer
        # stays in the batch (size unknown): skipped, it would be flagged, moved or deleted as if stored.
        present = set(client.search(["UID", ",".join(map(str, missing))])) if missing else set()
        return {uid: int(found[uid].get(b"RFC822.SIZE", 0)) if uid in found else 0 for uid in uids
                if uid in found or uid in present}

    def _fetch(self, client: IMAPClient, uids: list[int]) -> dict[int, bytes]:
        """BODY.PEEK[]: reading must not set \\Seen, so nothing looks handled before it is stored."""
        found = client.fetch(uids, ["BODY.PEEK[]"])
        return {uid: found[uid][b"BODY[]"] for uid in uids
                if uid in found and isinstance(found[uid].get(b"BODY[]"), bytes)}

    def _import(self, client: IMAPClient, state: ImapState, batch: list[int]) -> tuple[ImapState, int]:
        bodies: dict[int, bytes] = {}
        if not self._careful:
            try:
                bodies = self._fetch_or_refused(client, batch)
            except (OSError, IMAPClientAbortError):
                # Lost in the middle: a bad link, or a message that makes the server drop us. One by one next time.
                self._careful = True
                raise
        failed: list[int] = []
        for uid in (u for u in batch if u not in bodies):
            # Asked alone, a message the server skipped (or refused the whole batch for) may come back.
            try:
                bodies.update(self._fetch_or_refused(client, [uid]))
            except (OSError, IMAPClientAbortError):
                self._strike(state, batch, bodies, failed, uid)
                raise
            if uid not in bodies:
                failed.append(uid)
                log.error("mailbox %s: the server did not return UID %d; it is not imported yet and will be "
                          "asked for again (`gateway doctor` lists it)", self.box.key, uid)
        self._careful = False
        messages = [(uid, bodies[uid]) for uid in batch if uid in bodies]
        new_state, ids = store_batch(self.store, self.box, state, messages, batch[-1], failed, self.clock())
        self._stored(messages, ids)
        return new_state, len(messages)

    def _strike(self, state: ImapState, batch: list[int], bodies: dict[int, bytes], failed: list[int],
                uid: int) -> None:
        """The session died fetching this one message; after STRIKES times, store what came before it and
        set it aside (retried later), so one message cannot stop the whole folder."""
        self._strikes[uid] = self._strikes.get(uid, 0) + 1
        if self._strikes[uid] < self.STRIKES:
            return
        log.error("mailbox %s: the server dropped the connection %d times when asked for UID %d; it is not "
                  "imported yet and will be asked for again (`gateway doctor` lists it)", self.box.key,
                  self.STRIKES, uid)
        messages = [(u, bodies[u]) for u in batch if u < uid and u in bodies]
        _, ids = store_batch(self.store, self.box, state, messages, uid, [*failed, uid], self.clock())
        self._stored(messages, ids)
        self._strikes.pop(uid)
        self._retried_at = time.monotonic()

    def _fetch_or_refused(self, client: IMAPClient, uids: list[int]) -> dict[int, bytes]:
        """What the server returns; {} when it answers NO (a dropped connection still raises)."""
        try:
            return self._fetch(client, uids)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            log.debug("mailbox %s: UIDs %s refused: %s", self.box.key, uids, exc)
            return {}

    def _retry_failed(self, client: IMAPClient, state: ImapState) -> ImapState:
        """Ask again for messages the server would not return, now and then (asking may cost the session)."""
        due = self._retried_at is None or time.monotonic() - self._retried_at >= self.failed_retry_interval
        if not state.failed_uids or not due:
            return state
        self._retried_at = time.monotonic()
        bodies: dict[int, bytes] = {}
        for uid in state.failed_uids:
            bodies.update(self._fetch_or_refused(client, [uid]))
        gone = set(state.failed_uids) - set(client.search(["UID", ",".join(map(str, state.failed_uids))]))
        for uid in sorted(gone):
            log.error("mailbox %s: UID %d, which the server never returned, was removed from the folder by "
                      "someone else; it was never imported", self.box.key, uid)
        if not bodies and not gone:
            return state
        messages = sorted(bodies.items())
        new_state, ids = store_batch(self.store, self.box, state, messages, state.last_uid, [], self.clock())
        if gone:
            new_state.failed_uids = [u for u in new_state.failed_uids if u not in gone]
            save_state(self.store, new_state)
        self._stored(messages, ids, again=True)
        # Stored at last: now it may be handled like the others (a crash before this leaves it unflagged only).
        self._apply(client, [uid for uid, _ in messages])
        return new_state

    def _stored(self, messages: list[tuple[int, bytes]], ids: list[int], again: bool = False) -> None:
        for (uid, raw), raw_id in zip(messages, ids):
            log.info("raw=%s accepted from IMAP %s UID %d (%d bytes)%s", raw_id, self.box.key, uid, len(raw),
                     " at last" if again else "")
        if messages:
            self.on_commit()

    def _act(self, client: IMAPClient, state: ImapState) -> None:
        """Flag, move or delete what is stored and not yet handled; safe to repeat after a crash."""
        if state.acted_uid >= state.last_uid:
            return
        present = client.search(["UID", f"{state.acted_uid + 1}:{state.last_uid}"])
        self._apply(client, [u for u in present if state.acted_uid < u <= state.last_uid
                             and u not in set(state.failed_uids)])
        mark_acted(self.store, self.box.key, state.last_uid, self.clock())

    def _apply(self, client: IMAPClient, uids: list[int]) -> None:
        if not uids:
            return
        if self.box.after == "flag":
            client.add_flags(uids, [b"\\Seen"])
        elif self.box.after == "move":
            self._move(client, uids)
        else:
            client.delete_messages(uids)
            self._expunge(client, uids)

    def _move(self, client: IMAPClient, uids: list[int]) -> None:
        target = self.box.move_to
        if not client.folder_exists(target):
            client.create_folder(target)
            log.info("mailbox %s: created folder %r to move imported mail to", self.box.key, target)
        if b"MOVE" in client.capabilities():
            client.move(uids, target)
            return
        client.copy(uids, target)
        client.delete_messages(uids)
        self._expunge(client, uids)

    @staticmethod
    def _expunge(client: IMAPClient, uids: list[int]) -> None:
        # UID EXPUNGE removes only ours; a plain EXPUNGE would also remove what a person marked \Deleted, so
        # without UIDPLUS ours stay marked \Deleted for a mail client to expunge (`gateway doctor` says so).
        if b"UIDPLUS" in client.capabilities():
            client.uid_expunge(uids)
