"""End to end over real SMTP: a conversation resolved by an agent's #close gets one survey after the delay, in
its thread, marked automatic, with one-click opt-out; reopening cancels it; answers by mail are kept."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr

from sqlmodel import col, select

from gateway.attention import waiting_since
from gateway.autoreply.facts import gather_facts
from gateway.config import replace
from gateway.models import Conversation, Customer, Message, OutboxItem, Scheduled, ScheduledState, Status
from gateway.reply_token import ref_from_address, ref_from_message_id
from gateway.runtime import Runtime
from gateway.scheduler import Scheduler
from gateway.surveys.links import read_optout_token, read_rating_token
from tests.agents.conftest import Desk, text_of
from tests.conftest import SECRET
from tests.helpers import make_mail
from tests.surveys.conftest import (CUSTOMER, agent_answers, conversation, customer_replies, customer_writes, notes,
                                    ref_of, survey_rows, surveys_in)

LINK = re.compile(r"https?://\S+/survey/(\S+)")


def resolved(desk: Desk, subject: str = "Printer offline", commands: str = "#close") -> tuple[str, list]:
    """A customer writes, Alice answers and closes; returns the ref and what the customer got from Alice."""
    got = customer_writes(desk, subject)
    sent = agent_answers(desk, got["alice"], commands=commands)
    return ref_of(got["alice"]), desk.to(CUSTOMER, sent)


def surveyed(desk: Desk) -> tuple[str, EmailMessage]:
    """A resolved conversation a day later: its ref and the survey the customer got."""
    ref, _ = resolved(desk)
    desk.clock.advance(days=1)
    desk.settle()
    (survey,) = desk.take()
    return ref, survey


def test_a_resolved_conversation_gets_one_survey_in_its_thread_after_the_delay(desk: Desk, store) -> None:
    ref, (reply,) = resolved(desk)
    assert conversation(store, ref).status == Status.RESOLVED
    desk.clock.advance(hours=23, minutes=59)
    desk.settle()
    assert desk.take() == [], "not before the delay"
    desk.clock.advance(minutes=1)
    desk.settle()
    (survey,) = desk.take()
    # In the customer's thread: under the agent's reply they got, with the conversation's subject and token.
    assert survey["In-Reply-To"] == reply["Message-ID"]
    assert str(survey["References"]).split()[-1] == reply["Message-ID"]
    assert str(survey["Subject"]) == f"Re: Printer offline [#{ref}]"
    assert parseaddr(str(survey["To"]))[1] == CUSTOMER
    assert ref_from_address(SECRET, survey["Reply-To"].addresses[0].addr_spec) == ref
    assert ref_from_message_id(SECRET, survey["Message-ID"]) == ref
    # Automatic mail says so (RFC 3834), and nothing answers it: a null envelope sender.
    assert survey["Auto-Submitted"] == "auto-generated"
    assert survey["X-Auto-Response-Suppress"] == "All" and survey["Precedence"] == "bulk"
    # One-click opt-out of surveys only (RFC 8058), the same link as in the body.
    unsubscribe = str(survey["List-Unsubscribe"]).strip()
    assert unsubscribe.startswith("<https://support.example.com/surveys/optout/") and unsubscribe.endswith(">")
    assert survey["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert read_optout_token(SECRET, unsubscribe.strip("<>").rpartition("/")[2]) == ref
    text = text_of(survey)
    assert unsubscribe.strip("<>") in text
    assert "reply with a number from 1 to 5" in text
    # Five one-click choices, each signed for this conversation and its rating, valid 14 days.
    links = [read_rating_token(SECRET, token) for token in LINK.findall(text)]
    assert [(link.ref, link.rating) for link in links] == [(ref, n) for n in (5, 4, 3, 2, 1)]
    assert {link.expires_at for link in links} == {desk.clock.now + timedelta(days=14)}
    html = survey.get_body(("html",)).get_content()
    assert all(f'href="{m}"' in html for m in re.findall(r"https?://\S+/survey/\S+", text))
    # Never twice.
    desk.clock.advance(days=3)
    desk.settle()
    assert desk.take() == []
    (row,) = survey_rows(store)
    assert (row.rating, row.choices, row.message_id) == (None, 5, survey["Message-ID"])


def test_the_survey_goes_out_from_the_null_sender_so_nothing_answers_it(desk: Desk, store) -> None:
    resolved(desk)
    desk.clock.advance(days=1)
    desk.settle()
    (received,) = desk.sink.handler.received
    assert received.mail_from == "<>" and received.rcpt_tos == [CUSTOMER]


def test_reopening_cancels_the_survey_and_closing_again_schedules_a_new_one(desk: Desk, store) -> None:
    ref, (reply,) = resolved(desk)
    desk.clock.advance(hours=2)
    told = customer_replies(desk, reply, "Sorry, it is offline again.\n")
    assert conversation(store, ref).status == Status.OPEN
    with store.reading() as tx:
        assert tx.exec(select(Scheduled.state).where(Scheduled.kind == "survey")).all() == [ScheduledState.CANCELLED]
    desk.clock.advance(days=2)
    desk.settle()
    assert desk.take() == []
    # Alice answers again and closes: a new survey, a day after this close.
    agent_answers(desk, desk.to("alice@example.com", told)[0])
    desk.clock.advance(hours=23)
    desk.settle()
    assert desk.take() == []
    desk.clock.advance(hours=1)
    desk.settle()
    assert [ref_of(m) for m in surveys_in(desk.take())] == [ref]


def test_a_conversation_closed_without_any_agent_reply_gets_no_survey(desk: Desk, store) -> None:
    got = customer_writes(desk)
    agent_answers(desk, got["alice"], body="", commands="#close")
    desk.clock.advance(days=2)
    desk.settle()
    assert desk.take() == []
    assert notes(store, "not_surveyed") == ["No survey sent: no agent replied to the customer in it."]


def test_without_a_public_url_no_survey_goes_out_and_a_note_and_one_log_line_say_why(desk: Desk, store, desk_settings,
                                                                                    caplog) -> None:
    ref, _ = resolved(desk)
    desk.clock.advance(days=1)
    # The gateway runs with [web] public_url empty: the links could only point to http://127.0.0.1:8025.
    unreachable = replace(desk_settings, web={"public_url": ""})
    with caplog.at_level(logging.INFO, logger="gateway"):
        assert Scheduler(Runtime(store, unreachable, SECRET, desk.clock)).run_once() == 1
    desk.settle()
    assert desk.take() == [] and survey_rows(store) == []
    reason = "no address customers can open its links at ([web] public_url is empty)"
    assert notes(store, "not_surveyed") == [f"No survey sent: {reason}."]
    assert [r.getMessage() for r in caplog.records if "survey" in r.getMessage()] == [f"conv={ref} no survey: {reason}"]


def test_nosurvey_keeps_the_survey_away_and_says_why(desk: Desk, store) -> None:
    resolved(desk, commands="#close\n#nosurvey")
    desk.clock.advance(days=2)
    desk.settle()
    assert desk.take() == []
    assert notes(store, "not_surveyed") == ["No survey sent: an agent marked it #nosurvey."]


def test_a_customer_gets_at_most_one_survey_in_the_spacing_window_across_conversations(desk: Desk, store) -> None:
    first, _ = resolved(desk, "Printer offline")
    desk.clock.advance(hours=1)
    second, _ = resolved(desk, "Invoice missing")
    desk.clock.advance(days=1, hours=1)
    desk.settle()
    (survey,) = surveys_in(desk.take())
    assert ref_of(survey) == first
    (skipped,) = notes(store, "not_surveyed")
    assert skipped.startswith("No survey sent: the customer was surveyed on 2026-03-03, within the 30-day spacing")
    # A month later, another conversation is surveyed again.
    desk.clock.advance(days=30)
    third, _ = resolved(desk, "Scanner jams")
    desk.clock.advance(days=1)
    desk.settle()
    assert [ref_of(m) for m in surveys_in(desk.take())] == [third]
    assert [conversation(store, ref).id for ref in (first, third)] == [r.conversation_id for r in survey_rows(store)]


def test_a_rating_by_mail_is_kept_and_does_not_reopen_the_conversation(desk: Desk, store) -> None:
    ref, survey = surveyed(desk)
    desk.clock.advance(hours=3)
    sent = customer_replies(desk, survey, "4\n\nQuick and friendly, thanks!\n\n"
                            "On Tue, 3 Mar 2026, Support wrote:\n> How did we do?\n")
    assert sent == [], "no agent is told, nothing is acknowledged"
    assert conversation(store, ref).status == Status.RESOLVED
    (row,) = survey_rows(store)
    assert (row.rating, row.comment, row.rated_via) == (4, "Quick and friendly, thanks!", "mail")
    assert notes(store, "survey_answer") == ["Survey answered by mail: 4 (Good): Quick and friendly, thanks!"]
    # Answering again changes it.
    customer_replies(desk, survey, "5\n")
    (row,) = survey_rows(store)
    assert (row.rating, row.comment) == (5, "")


def test_a_rating_by_mail_is_an_answer_not_customer_mail_waiting_for_a_reply(desk: Desk, store) -> None:
    ref, survey = surveyed(desk)
    desk.clock.advance(hours=3)
    customer_replies(desk, survey, "2\n\nIt took a week.\n")
    desk.clock.advance(days=2)
    asked = desk.clock.now
    customer_replies(desk, survey, "Actually it went offline again this morning.\n")
    assert conversation(store, ref).status == Status.OPEN
    with store.reading() as tx:
        kinds = tx.exec(select(Message.kind).where(Message.sender == CUSTOMER).order_by(col(Message.id))).all()
        since = tx.exec(select(waiting_since()).select_from(Conversation).where(Conversation.ref == ref)).one()
    assert kinds == ["customer", "survey_rating", "customer"]
    # The customer has waited since their new request, not since they rated us.
    assert since.replace(tzinfo=asked.tzinfo) == asked


def test_a_reply_to_the_survey_without_a_number_is_an_ordinary_message_that_reopens(desk: Desk, store) -> None:
    ref, survey = surveyed(desk)
    sent = customer_replies(desk, survey, "Actually it went offline again this morning.\n")
    assert desk.to("alice@example.com", sent), "a person is needed again"
    assert conversation(store, ref).status == Status.OPEN
    assert survey_rows(store)[0].rating is None


def test_survey_reply_after_reopen_is_a_customer_message(desk: Desk, store) -> None:
    ref, survey = surveyed(desk)
    customer_replies(desk, survey, "Actually it went offline again this morning.\n")
    assert conversation(store, ref).status == Status.OPEN
    # Later, in the same thread, a new message that happens to start with a number: a request, not a rating.
    sent = customer_replies(desk, survey, "2 printers are down again since the update.\n")
    assert desk.to("alice@example.com", sent), "the agents are told"
    assert survey_rows(store)[0].rating is None and notes(store, "survey_answer") == []
    assert conversation(store, ref).status == Status.OPEN


def test_a_mail_that_names_the_survey_only_in_its_references_is_not_a_rating(desk: Desk, store) -> None:
    ref, (reply,) = resolved(desk)
    desk.clock.advance(days=1)
    desk.settle()
    (survey,) = desk.take()
    # An answer to Alice's reply (the client keeps the whole thread in References), not to the survey.
    raw = make_mail(sender=CUSTOMER, to=reply["Reply-To"].addresses[0].addr_spec, subject="Re: Printer offline",
                    message_id="<later@customer.example>", body="2 printers are down again since the update.\n",
                    In_Reply_To=reply["Message-ID"], References=f"{reply['Message-ID']} {survey['Message-ID']}")
    desk.send(raw, reply["Reply-To"].addresses[0].addr_spec, CUSTOMER)
    assert desk.to("alice@example.com", desk.take()), "the agents are told"
    assert survey_rows(store)[0].rating is None
    assert conversation(store, ref).status == Status.OPEN


def test_a_reply_to_the_survey_from_another_address_is_not_a_rating(desk: Desk, store) -> None:
    ref, survey = surveyed(desk)
    sent = customer_replies(desk, survey, "1\n", customer="bob@customer.example")
    assert survey_rows(store)[0].rating is None and notes(store, "survey_answer") == []
    assert desk.to("alice@example.com", sent), "an ordinary message: the agents are told"


def test_a_rating_by_mail_after_the_links_expired_is_an_ordinary_message(desk: Desk, store) -> None:
    ref, survey = surveyed(desk)
    desk.clock.advance(days=14)
    customer_replies(desk, survey, "5\n")
    assert survey_rows(store)[0].rating is None
    assert conversation(store, ref).status == Status.OPEN


def test_surveys_count_towards_the_circuit_breaker_of_automatic_mail(desk: Desk, store) -> None:
    resolved(desk)
    desk.clock.advance(days=1)
    desk.settle()
    with store.reading() as tx:
        item = tx.exec(select(OutboxItem).where(OutboxItem.kind == "survey")).one()
        customer = tx.exec(select(Customer).where(Customer.address == CUSTOMER)).one()
        facts = gather_facts(tx, customer, desk.clock.now)
    assert item.automatic and item.recipient == CUSTOMER and item.template == "survey"
    assert facts.automatic_last_hour == 1


def test_a_customer_who_wrote_in_german_gets_the_german_survey(desk: Desk, store) -> None:
    got = customer_writes(desk)
    with store.transaction() as tx:
        tx.exec(select(Conversation).where(Conversation.ref == ref_of(got["alice"]))).one().language = "de"
    agent_answers(desk, got["alice"])
    desk.clock.advance(days=1)
    desk.settle()
    (survey,) = desk.take()
    text = text_of(survey)
    assert text.startswith("Guten Tag,") and "Wie waren wir?" in text and "  5 Ausgezeichnet: http" in text
    assert "die Links gelten bis 17. März 2026" in text
    with store.reading() as tx:
        assert tx.exec(select(OutboxItem.template).where(OutboxItem.kind == "survey")).one() == "survey.de"
