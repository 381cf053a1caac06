"""Search: every word in the subject or in what people wrote, in the database, never our own boilerplate."""

from __future__ import annotations

from sqlmodel import select

from gateway.models import Conversation, Message
from gateway.search import matching, words_of
from tests.helpers import deliver, make_mail


def _found(store, query: str) -> set[str]:
    with store.reading() as tx:
        return set(tx.exec(select(Conversation.subject).where(matching(tx, query))).all())


def test_words_and_quoted_phrases():
    assert words_of('refund "credit card" ') == ["refund", "credit card"]
    assert words_of('unbalanced "quote') == ["unbalanced", '"quote']


def test_every_word_must_occur_in_the_subject_or_a_message(processor, store):
    deliver(processor, make_mail(subject="Invoice wrong", body="The amount on my card is 100% too high.\n",
                                 message_id="<a@x>"))
    deliver(processor, make_mail(sender="Bo <bo@x.example>", subject="Login", body="Cannot log in to my_account.\n",
                                 message_id="<b@x>"))
    assert _found(store, "invoice") == {"Invoice wrong"}
    assert _found(store, "INVOICE card") == {"Invoice wrong"}
    assert _found(store, "invoice login") == set()
    assert _found(store, '"my card is"') == {"Invoice wrong"}
    assert _found(store, "100%") == {"Invoice wrong"}
    assert _found(store, "my_account") == {"Login"} and _found(store, "my_ccount") == set()
    assert _found(store, "") == {"Invoice wrong", "Login"}


def test_our_acknowledgement_text_is_not_searched(processor, store):
    deliver(processor, make_mail(subject="Printer offline", body="Help.\n"))
    # "reference" is in every acknowledgement we send, never in what the customer wrote.
    assert _found(store, "reference") == set()


def test_a_word_finds_the_words_it_starts_and_punctuation_alone_narrows_nothing(processor, store):
    deliver(processor, make_mail(subject="Invoices", body="Both invoices were charged twice.\n", message_id="<i@x>"))
    assert _found(store, "invoice charge") == {"Invoices"}
    assert _found(store, '"were charged"') == {"Invoices"} and _found(store, '"charged were"') == set()
    assert _found(store, "!!! invoice") == {"Invoices"}


def test_a_huge_pasted_log_is_stored_and_searchable(processor, store):
    log = "".join(f"line {i} error code E{i % 97} in module alpha\n" for i in range(60_000))  # about 2.3 MB
    deliver(processor, make_mail(subject="Crash log", body=f"Crashes at start.\n{log}", message_id="<log@x>"))
    assert _found(store, "crashes") == {"Crash log"}


def test_changed_text_is_searched_as_it_now_reads(processor, store):
    deliver(processor, make_mail(subject="Printer", body="The printer is offline.\n", message_id="<p@x>"))
    with store.transaction() as tx:
        message = tx.exec(select(Message).where(Message.message_id == "<p@x>")).one()
        message.text = "The scanner jams."
    assert _found(store, "scanner") == {"Printer"} and _found(store, "offline") == set()
