"""Doctor check of contact forms: a web form's mail, kept as bulk mail, is a visitor's request nobody answers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from gateway.classify import SenderKind, reply_to_person
from gateway.clock import utc_now
from gateway.config import Settings, listed
from gateway.errors import GatewayError
from gateway.health import Finding
from gateway.message import parse
from gateway.models import Message, RawMessage
from gateway.store import Store

LOOK_BACK = timedelta(days=30)
NEWEST = 200  # bulk mails read: enough to see a form, cheap on a large store


def likely_forms(settings: Settings, store: Store, now: datetime) -> dict[str, set[str]]:
    """Senders of recent bulk mail naming different people in Reply-To, as a contact form does (a newsletter
    names the same one every time), with the people named; senders already in [classify] forms left out."""
    with store.reading() as tx:
        rows = tx.exec(select(Message.sender, RawMessage.raw, RawMessage.spool)
                       .join(RawMessage, col(Message.raw_id) == RawMessage.id)
                       .where(Message.kind == SenderKind.BULK, col(Message.conversation_id).is_(None),
                              col(Message.created_at) >= now - LOOK_BACK)
                       .order_by(col(Message.id).desc()).limit(NEWEST)).all()
    people: dict[str, set[str]] = defaultdict(set)
    for sender, raw, spool in rows:
        if listed(sender, settings.classify.forms):
            continue
        try:
            person = reply_to_person(parse(store.raw_of(raw, spool)), settings)
        except GatewayError:  # Its raw file is gone: the storage check says so.
            continue
        if person is not None:
            people[sender].add(person[1])
    return {sender: named for sender, named in people.items() if len(named) > 1}


def check_contact_forms(settings: Settings) -> Iterator[Finding]:
    """Warn about a sender that looks like a contact form missing from [classify] forms."""
    store = Store.for_settings(settings)
    try:
        forms = likely_forms(settings, store, utc_now())
    except SQLAlchemyError:
        return  # The database check already says the store cannot be opened.
    finally:
        store.dispose()
    if not forms:
        yield Finding("contact forms", True, "no recent bulk mail speaks for visitors in Reply-To")
        return
    for sender, named in sorted(forms.items()):
        yield Finding("contact forms", True, f"mail from {sender} in the last {LOOK_BACK.days} days was kept as "
                      f"bulk mail and opened no conversation, yet it names {len(named)} different people in Reply-To, "
                      "as a web contact form does",
                      f'if it is your contact form, add it to [classify] forms (forms = ["{sender}"]): its next mails '
                      "open conversations with those people", warning=True)
