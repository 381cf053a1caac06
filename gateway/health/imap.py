"""Doctor checks of each IMAP mailbox: connect, log in, the folders, what the server offers, what is stuck."""

from __future__ import annotations

from collections.abc import Iterator

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from gateway.config import MailboxSettings, Settings
from gateway.health import Finding
from gateway.inbound.imap_connect import ImapFault, connect, disconnect
from gateway.models import ImapState
from gateway.store import Store


def check_imap(settings: Settings) -> Iterator[Finding]:
    """One line per mailbox when it is fine, one per problem (with its fix) when it is not."""
    if not settings.imap.mailbox:
        yield Finding("imap", True, "no mailboxes configured (mail comes in over SMTP or `gateway inject`)")
        return
    stuck = _stuck(settings)
    for box in settings.imap.mailbox:
        name = f"imap {box.key}"
        try:
            client = connect(box, min(settings.imap.timeout.total_seconds(), 15))
        except ImapFault as exc:
            yield Finding(name, False, exc.problem, exc.fix)
            continue
        try:
            yield from _server(name, client, box, settings.imap.idle)
        except (OSError, IMAPClientError) as exc:
            yield Finding(name, False, f"the session failed: {exc}", "check the server's log")
        finally:
            disconnect(client)
        if stuck.get(box.key):
            uids = ", ".join(map(str, stuck[box.key]))
            yield Finding(name, False, f"the server would not return UID {uids}; not imported yet (retried hourly)",
                          "look for the error in the server's log; repairing or removing the message there "
                          "lets the gateway move on")


def _server(name: str, client: IMAPClient, box: MailboxSettings, idle: bool) -> Iterator[Finding]:
    capabilities = set(client.capabilities())
    if not client.folder_exists(box.folder):
        folders = ", ".join(sorted(f for _, _, f in client.list_folders()))
        yield Finding(name, False, f"folder {box.folder!r} does not exist (there: {folders})",
                      "set folder to one of those")
        return
    if box.after == "delete" and b"UIDPLUS" not in capabilities:
        yield Finding(name, False, "the server lacks UIDPLUS, so deleting imported mail would also expunge "
                                   "messages a person marked \\Deleted", "use after = \"move\" or \"flag\"")
        return
    waiting = client.folder_status(box.folder, [b"MESSAGES"]).get(b"MESSAGES", 0)
    notes = [f"logged in, {waiting} message(s) in {box.folder}",
             "IDLE" if idle and b"IDLE" in capabilities else "no IDLE: polling",
             f"after import: {box.after}" + (f" to {box.move_to}" + (
                 "" if client.folder_exists(box.move_to) else " (created on first use)")
                 if box.after == "move" else "")]
    yield Finding(name, True, "; ".join(notes))


def _stuck(settings: Settings) -> dict[str, list[int]]:
    """Messages each folder's reader had to set aside; {} when the store cannot say (its own check will)."""
    store = Store.for_settings(settings)
    try:
        with store.reading() as tx:
            return {s.mailbox: list(s.failed_uids) for s in tx.exec(select(ImapState)).all()}
    except SQLAlchemyError:
        return {}
    finally:
        store.dispose()
