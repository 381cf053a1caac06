"""End to end over real SMTP: customer mail in, notifications out, agents' real client replies back in,
and what the customer finally receives."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest
from sqlmodel import select

from gateway.agents.auth import foreign_envelope
from gateway.errors import GatewayError
from gateway.merge import merge
from gateway.models import Agent, Conversation, Message, Note, RawMessage, RawState, Scheduled, ScheduledState, Status
from gateway.reply_token import ref_from_address
from tests.agents.conftest import Desk, text_of
from tests.conftest import SECRET
from tests.helpers import make_mail

INTERNAL = ("Reply above this line", "Commands:", "PARTNER", "earlier conversation", "alice@example.com",
            "bob@example.com", "Conversation ")
AGENT_WORDS = "please switch the printer off and on again"
GERMAN_WORDS = "bitte schalten Sie den Drucker aus und wieder ein"


def sender(mail) -> tuple[str, str]:
    (address,) = mail["From"].addresses
    return address.display_name, address.addr_spec


def conversation(store) -> Conversation:
    with store.reading() as tx:
        return tx.exec(select(Conversation)).one()


def open_conversation(desk: Desk) -> dict[str, object]:
    """The customer writes; returns the notifications each agent got."""
    desk.customer_writes()
    mails = desk.take()
    return {"alice": desk.to("alice@example.com", mails)[0], "bob": desk.to("bob@example.com", mails)[0],
            "ack": desk.to("anne@customer.example", mails)[0]}


def test_a_customer_message_reaches_every_agent_as_a_threaded_notification(desk: Desk, store) -> None:
    got = open_conversation(desk)
    ref = conversation(store).ref
    alice = got["alice"]
    assert sender(alice) == ("Anne Example via Support", "support@example.com")
    assert str(alice["Subject"]) == f"[#{ref}] Printer offline"
    assert alice["Auto-Submitted"] == "auto-generated"
    token = alice["Reply-To"].addresses[0].addr_spec
    assert token.startswith(f"support+{ref.lower()}-") and token != got["bob"]["Reply-To"].addresses[0].addr_spec
    assert ref_from_address(SECRET, token) is None, "an agent's token is not the customer's"
    text = text_of(alice)
    assert text.startswith("##- Reply above this line to answer the customer -##\nCommands:")
    assert "Hello, my printer says it is offline." in text
    assert f"Conversation {ref} · open · priority normal · assigned to nobody · tags: none" in text
    # The second notification to the same agent threads under the first.
    desk.customer_writes(subject=f"Re: Printer offline [#{ref}]", message_id="<req-2@customer.example>",
                         body="It is still offline.\n")
    second = desk.to("alice@example.com", desk.take())[0]
    assert second["In-Reply-To"] == alice["Message-ID"]
    assert str(second["References"]).split()[0] == str(alice["References"]).split()[0]


@pytest.mark.parametrize("sample", ["gmail_html.eml", "outlook_html.eml", "apple_mail.eml", "iphone.eml",
                                    "thunderbird.eml", "mutt.eml", "outlook_marker_mangled.eml"])
def test_an_agents_reply_from_a_real_client_reaches_the_customer_threaded_and_clean(desk: Desk, store,
                                                                                     sample: str) -> None:
    got = open_conversation(desk)
    ref = conversation(store).ref
    desk.agent_replies(sample, "alice@example.com", got["alice"])
    mails = desk.take()
    (relayed,) = desk.to("anne@customer.example", mails)
    assert sender(relayed) == ("Alice (Support)", "support@example.com")
    assert relayed["Reply-To"].addresses[0].addr_spec == got["ack"]["Reply-To"].addresses[0].addr_spec
    assert ref_from_address(SECRET, relayed["Reply-To"].addresses[0].addr_spec) == ref
    assert relayed["In-Reply-To"] == "<req-1@customer.example>"
    assert str(relayed["References"]).split()[-1] == "<req-1@customer.example>"
    assert str(relayed["Subject"]) == f"Re: Printer offline [#{ref}]"
    assert relayed["Auto-Submitted"] is None, "a person wrote this"
    words = GERMAN_WORDS if "marker_mangled" in sample else AGENT_WORDS
    assert words in text_of(relayed)
    raw = relayed.as_string()
    for internal in INTERNAL:
        assert internal not in raw, f"{internal!r} leaked to the customer"
    # Bob is told that Alice answered, so he does not start a second reply.
    (told,) = desk.to("bob@example.com", mails)
    assert "Alice answered the customer" in text_of(told) and words in text_of(told)
    assert conversation(store).first_response_at is not None


def test_an_html_reply_goes_out_as_html_with_a_text_alternative_and_its_attachment(desk: Desk) -> None:
    got = open_conversation(desk)
    desk.agent_replies("gmail_with_attachment.eml", "alice@example.com", got["alice"])
    (relayed,) = desk.to("anne@customer.example", desk.take())
    html = relayed.get_body(("html",))
    words = "please follow the steps in the attached PDF"
    assert html is not None and words in html.get_content() and "gmail_quote" not in html.get_content()
    assert words in text_of(relayed) and "<div" not in text_of(relayed)
    files = [(p.get_filename(), len(p.get_content())) for p in relayed.iter_attachments()]
    assert [name for name, _ in files] == ["steps.pdf"] and files[0][1] > 0


def test_a_note_stays_internal_and_reaches_the_colleagues(desk: Desk, store) -> None:
    got = open_conversation(desk)
    desk.agent_replies("gmail_note.eml", "alice@example.com", got["alice"])
    mails = desk.take()
    assert desk.to("anne@customer.example", mails) == []
    (shared,) = desk.to("bob@example.com", mails)
    assert "old driver" in text_of(shared) and shared["Reply-To"].addresses[0].addr_spec.startswith("note+")
    with store.reading() as tx:
        note = tx.exec(select(Note).where(Note.kind == "agent_note")).one()
    assert "old driver" in note.body and "#note" not in note.body and note.author == "alice@example.com"
    # Bob answers the shared note: that stays internal too.
    bob_reply = (b"From: Bob <bob@example.com>\r\nTo: " + shared["Reply-To"].addresses[0].addr_spec.encode() +
                 b"\r\nSubject: Re: note\r\nMessage-ID: <bob-1@example.com>\r\n\r\nAgreed, the 2019 driver.\r\n")
    desk.send(bob_reply, shared["Reply-To"].addresses[0].addr_spec, "bob@example.com")
    mails = desk.take()
    assert desk.to("anne@customer.example", mails) == []
    assert "2019 driver" in text_of(desk.to("alice@example.com", mails)[0])


def test_commands_change_the_conversation_and_are_cut_from_the_reply(desk: Desk, store) -> None:
    got = open_conversation(desk)
    desk.agent_replies("thunderbird_commands.eml", "alice@example.com", got["alice"])
    (relayed,) = desk.to("anne@customer.example", desk.take())
    assert "#tag" not in text_of(relayed) and "#pending" not in text_of(relayed)
    assert "photo of the printer" in text_of(relayed)
    c = conversation(store)
    assert (c.status, c.tags, c.assignee_id) == (Status.PENDING, ["printers"], 1)
    # Assigned: the customer's next message goes to Alice only.
    desk.customer_writes(subject=f"Re: Printer offline [#{c.ref}]", message_id="<req-2@customer.example>",
                         body="Here is the photo.\n")
    mails = desk.take()
    assert desk.to("alice@example.com", mails) and not desk.to("bob@example.com", mails)
    assert conversation(store).status == Status.OPEN, "the customer's answer puts it back in the open queue"


def test_a_reply_with_only_commands_sends_the_customer_nothing(desk: Desk, store) -> None:
    got = open_conversation(desk)
    desk.agent_replies("gmail_commands_only.eml", "alice@example.com", got["alice"])
    assert desk.take() == []
    c = conversation(store)
    assert c.status == Status.RESOLVED and c.resolved_at is not None
    with store.reading() as tx:
        change = tx.exec(select(Note).where(Note.kind == "changed")).one()
    assert (change.author, change.body) == ("alice@example.com", "status resolved")


def reply_text(agent: str, notification, body: str, to: str = "") -> bytes:
    """A plain reply as mutt would write it, to the notification's Reply-To (or `to`)."""
    to = to or notification["Reply-To"].addresses[0].addr_spec
    return (f"From: {agent}\r\nTo: {to}\r\nSubject: Re: {notification['Subject']}\r\n"
            f"Message-ID: <{abs(hash(body))}@{agent.partition('@')[2]}>\r\nIn-Reply-To: {notification['Message-ID']}\r\n"
            f"\r\n{body}\r\n\r\nOn Mon, 2 Mar 2026, Support wrote:\r\n> ##- Reply above this line to answer the customer -##\r\n"
            "> Commands: start your reply with #note\r\n").encode()


def test_an_agents_reply_through_another_domains_envelope_is_relayed_and_the_agent_is_told(desk: Desk,
                                                                                           store) -> None:
    got = open_conversation(desk)
    to = got["alice"]["Reply-To"].addresses[0].addr_spec
    desk.send(reply_text("alice@example.com", got["alice"], "Hi Anne, try turning it off and on."), to,
              "mallory@evil.example")
    mails = desk.take()
    # Relayed: Gmail's "send mail as" looks the same, and refusing it would stop such a desk cold.
    assert desk.to("anne@customer.example", mails)
    (told,) = desk.to("alice@example.com", mails)
    assert "mallory@evil.example" in text_of(told) and "tell your admin" in text_of(told)
    assert told["Auto-Submitted"] == "auto-generated"
    with store.reading() as tx:
        (note,) = tx.exec(select(Note).where(Note.kind == "sender_unverified")).all()
    assert "mallory@evil.example" in note.body and note.author == "alice@example.com"
    # Once told of this sender, the agent is not told again (it was them: Gmail's "send mail as"), but the note is.
    desk.send(reply_text("alice@example.com", got["alice"], "Also: check the cable."), to, "mallory@evil.example")
    mails = desk.take()
    assert desk.to("anne@customer.example", mails) and desk.to("alice@example.com", mails) == []
    with store.reading() as tx:
        assert len(tx.exec(select(Note).where(Note.kind == "sender_unverified")).all()) == 2
    # The agent's own domain, or a subdomain of it (a provider's bounce address), is theirs: nothing to say.
    desk.send(reply_text("alice@example.com", got["alice"], "One more thing: check the power."), to,
              "bounces+x1@mail.example.com")
    mails = desk.take()
    assert desk.to("anne@customer.example", mails) and desk.to("alice@example.com", mails) == []


def test_an_agents_html_reply_reaches_the_customer_without_scripts_or_tracking_pixels(desk: Desk, store) -> None:
    got = open_conversation(desk)
    to = got["alice"]["Reply-To"].addresses[0].addr_spec
    reply = EmailMessage()
    reply["From"], reply["To"], reply["Subject"] = "alice@example.com", to, f"Re: {got['alice']['Subject']}"
    reply["In-Reply-To"] = got["alice"]["Message-ID"]
    reply.set_content("Hi Anne, please restart it.\n")
    reply.add_alternative('<p style="color:#333" onmouseover="track()">Hi Anne, please <b>restart</b> it.</p>'
                          '<script>fetch("https://evil.example/")</script>'
                          '<img src="https://track.example/open.gif" width="1" height="1">', subtype="html")
    desk.send(reply.as_bytes(), to, "alice@example.com")
    (relayed,) = desk.to("anne@customer.example", desk.take())
    html = relayed.get_body(("html",)).get_content()
    assert "<b>restart</b>" in html and 'style="color:#333"' in html
    assert "script" not in html and "onmouseover" not in html and "track.example" not in html


def test_foreign_envelope_compares_domains_and_their_subdomains() -> None:
    assert foreign_envelope("alice@example.com", "alice@example.com") == ""
    assert foreign_envelope("alice@example.com", "b+1@bounce.example.com") == ""
    assert foreign_envelope("alice@eu.example.com", "alice@example.com") == ""
    assert foreign_envelope("alice@example.com", None) == "" and foreign_envelope("alice@example.com", "") == ""
    assert foreign_envelope("alice@example.com", "mallory@evil.example") == "mallory@evil.example"
    assert foreign_envelope("alice@example.com", "x@notexample.com") == "x@notexample.com"


def test_a_typo_in_a_command_sends_nothing_and_tells_the_agent_once(desk: Desk, store) -> None:
    got = open_conversation(desk)
    to = got["alice"]["Reply-To"].addresses[0].addr_spec
    desk.send(reply_text("alice@example.com", got["alice"], "#clsoe\n\nThanks, fixed."), to, "alice@example.com")
    (told,) = desk.take()
    assert "alice@example.com" in str(told["To"]) and "did you mean #close?" in text_of(told)
    desk.send(reply_text("alice@example.com", got["alice"], "#asign me\n\nThanks."), to, "alice@example.com")
    assert desk.take() == [], "at most one such answer per interval"
    assert conversation(store).status == Status.OPEN


def test_a_saved_reply_is_inserted_personalised_before_the_agents_text(desk: Desk, store) -> None:
    got = open_conversation(desk)
    to = got["alice"]["Reply-To"].addresses[0].addr_spec
    desk.send(reply_text("alice@example.com", got["alice"], "#template restart\n\nTell me how it goes."), to,
              "alice@example.com")
    (relayed,) = desk.to("anne@customer.example", desk.take())
    ref = conversation(store).ref
    assert text_of(relayed).startswith(f"Hi Anne, a restart usually fixes this ({ref}).\n\nTell me how it goes.")


@pytest.mark.parametrize("forge", ["spoofed_from", "wrong_mac", "other_conversation", "other_agents_token",
                                   "customers_address"])
def test_a_reply_that_is_not_the_agents_own_is_quarantined_and_never_answered(desk: Desk, store, forge: str) -> None:
    got = open_conversation(desk)
    to = got["alice"]["Reply-To"].addresses[0].addr_spec
    sender = "alice@example.com"
    if forge == "spoofed_from":
        sender = "mallory@evil.example"
    elif forge == "wrong_mac":
        to = to[:-len("@example.com") - 2] + "zz@example.com"
    elif forge == "other_conversation":
        ref = conversation(store).ref.lower()
        to = to.replace(ref, "b3b3b3b3")
    elif forge == "customers_address":
        to = got["ack"]["Reply-To"].addresses[0].addr_spec
    else:
        sender = "bob@example.com"
    raw = reply_text(sender, got["alice"], "Hi Anne, here is a refund link: http://evil.example/", to=to)
    desk.send(raw, to, sender)
    mails = desk.take()
    if forge in ("other_agents_token", "customers_address"):
        # An agent who answered from the wrong mail: their answer must not vanish without a word.
        (told,) = desk.to(sender, mails)
        assert ("used alice@example.com's reply address" if sender == "bob@example.com" else
                "wrote to the customer's reply address") in text_of(told) and "nothing was sent" in text_of(told)
        mails.remove(told)
    assert mails == [], "nothing relayed, nobody else answered"
    with store.reading() as tx:
        quarantined = tx.exec(select(RawMessage).where(RawMessage.state == RawState.QUARANTINED)).one()
    assert quarantined.stage == "authenticate" and quarantined.reason


def test_a_removed_agents_reply_to_an_old_notification_is_refused_not_taken_for_the_customers(desk: Desk,
                                                                                               store) -> None:
    got = open_conversation(desk)
    with store.transaction() as tx:
        tx.exec(select(Agent).where(Agent.address == "bob@example.com")).one().active = False
    to = got["bob"]["Reply-To"].addresses[0].addr_spec
    desk.send(reply_text("bob@example.com", got["bob"], "Hi Anne, I left, but try this."), to, "bob@example.com")
    assert desk.take() == [], "nothing relayed, and alice is not told of 'Anne's' new mail"
    with store.reading() as tx:
        assert [m.sender for m in tx.exec(select(Message).where(Message.direction == "in")).all()] == [
            "anne@customer.example"]
        refused = tx.exec(select(RawMessage).where(RawMessage.state == RawState.QUARANTINED)).one()
    assert refused.reason == "bob@example.com is no longer an agent; their old reply address relays nothing"


@pytest.mark.parametrize("who", ["bob@example.com", "carol@elsewhere.example"], ids=["removed agent", "stranger"])
def test_an_answer_to_a_notification_from_someone_not_an_agent_is_refused_whatever_the_address(desk: Desk, store,
                                                                                              who: str) -> None:
    # A client that ignores Reply-To answers the notification's From, support@; its In-Reply-To still names it.
    got = open_conversation(desk)
    with store.transaction() as tx:
        tx.exec(select(Agent).where(Agent.address == "bob@example.com")).one().active = False
    desk.send(reply_text(who, got["bob"], "Hi Anne, please send me your password.", to="support@example.com"),
              "support@example.com", who)
    assert desk.take() == [], "nothing relayed, nobody notified of 'Anne's' mail"
    with store.reading() as tx:
        assert [m.sender for m in tx.exec(select(Message).where(Message.direction == "in")).all()] == [
            "anne@customer.example"]
        refused = tx.exec(select(RawMessage).where(RawMessage.state == RawState.QUARANTINED)).one()
    assert f"{who} is not an agent but answered our notification to agents" == refused.reason


def test_an_agent_who_answers_from_the_wrong_mail_twice_is_told_once(desk: Desk, store) -> None:
    got = open_conversation(desk)
    to = got["alice"]["Reply-To"].addresses[0].addr_spec
    for text in ("Hi Anne, try this.", "Hi Anne, or this."):
        desk.send(reply_text("bob@example.com", got["alice"], text, to=to), to, "bob@example.com")
    assert len(desk.to("bob@example.com", desk.take())) == 1
    desk.clock.advance(minutes=6)
    desk.send(reply_text("bob@example.com", got["alice"], "Hi Anne, and this.", to=to), to, "bob@example.com")
    assert len(desk.to("bob@example.com", desk.take())) == 1, "again after [agents] error_reply_interval"


def test_a_reply_after_the_conversation_was_closed_still_reaches_the_customer(desk: Desk, store) -> None:
    got = open_conversation(desk)
    desk.agent_replies("gmail_commands_only.eml", "alice@example.com", got["alice"])
    desk.agent_replies("mutt.eml", "alice@example.com", got["alice"])
    assert len(desk.to("anne@customer.example", desk.take())) == 1
    assert conversation(store).status == Status.RESOLVED


def test_two_agents_replying_at_once_hold_the_second_until_they_choose(desk: Desk, store) -> None:
    got = open_conversation(desk)
    desk.clock.advance(minutes=2)
    desk.agent_replies("gmail_html.eml", "alice@example.com", got["alice"])
    assert len(desk.to("anne@customer.example", desk.take())) == 1
    desk.clock.advance(minutes=1)
    bob_to = got["bob"]["Reply-To"].addresses[0].addr_spec
    desk.send(reply_text("bob@example.com", got["bob"], "Hi Anne, try the other cable."), bob_to, "bob@example.com")
    mails = desk.take()
    assert desk.to("anne@customer.example", mails) == [], "Bob's reply is held, not sent"
    (held,) = desk.to("bob@example.com", mails)
    assert "Alice answered the customer 1 minute ago" in text_of(held) and AGENT_WORDS in text_of(held)
    assert "#send" in text_of(held) and "#drop" in text_of(held)
    desk.send(reply_text("bob@example.com", held, "#send"), held["Reply-To"].addresses[0].addr_spec,
              "bob@example.com")
    (relayed,) = desk.to("anne@customer.example", desk.take())
    assert "try the other cable" in text_of(relayed)
    with store.reading() as tx:
        assert tx.exec(select(Scheduled.state)).one() == ScheduledState.DONE


def bob_is_held(desk: Desk):  # type: ignore[no-untyped-def]
    """Alice answers; a minute later Bob answers the notification he got before hers: his is held."""
    got = open_conversation(desk)
    desk.clock.advance(minutes=1)
    desk.agent_replies("mutt.eml", "alice@example.com", got["alice"])
    desk.take()
    bob_to = got["bob"]["Reply-To"].addresses[0].addr_spec
    desk.send(reply_text("bob@example.com", got["bob"], "Try B."), bob_to, "bob@example.com")
    (held,) = desk.take()
    return held


def test_a_held_reply_with_no_answer_is_dropped_and_the_agent_told(desk: Desk, store) -> None:
    bob_is_held(desk)
    desk.clock.advance(hours=1, seconds=1)
    desk.settle()
    (told,) = desk.take()
    assert "bob@example.com" in str(told["To"]) and "was dropped" in text_of(told)
    with store.reading() as tx:
        assert tx.exec(select(Scheduled.state)).one() == ScheduledState.CANCELLED


def test_two_replies_arriving_together_send_one_and_hold_the_other(desk: Desk, store) -> None:
    got = open_conversation(desk)
    desk.clock.advance(minutes=2)
    alice_to = got["alice"]["Reply-To"].addresses[0].addr_spec
    bob_to = got["bob"]["Reply-To"].addresses[0].addr_spec
    with smtplib.SMTP(desk.host, desk.port) as client:  # Both stored before either is processed.
        client.sendmail("alice@example.com", [alice_to], reply_text("alice@example.com", got["alice"], "Try A."))
        client.sendmail("bob@example.com", [bob_to], reply_text("bob@example.com", got["bob"], "Try B."))
    desk.settle()
    mails = desk.take()
    (relayed,) = desk.to("anne@customer.example", mails)
    assert "Try A." in text_of(relayed)
    assert any("has not been sent" in text_of(m) for m in desk.to("bob@example.com", mails))


def test_drop_discards_a_held_reply(desk: Desk, store) -> None:
    held = bob_is_held(desk)
    desk.send(reply_text("bob@example.com", held, "#drop"), held["Reply-To"].addresses[0].addr_spec,
              "bob@example.com")
    assert desk.take() == []
    with store.reading() as tx:
        assert tx.exec(select(Scheduled.state)).one() == ScheduledState.CANCELLED
    desk.clock.advance(hours=2)
    desk.settle()
    assert desk.take() == [], "a dropped reply is not dropped again by the timer"


def test_a_customer_with_a_non_ascii_address_still_reaches_the_agents(desk: Desk, store) -> None:
    raw = ("From: Jörg <jörg@kunde.example>\r\nTo: support@example.com\r\nSubject: Drucker\r\n"
           "Message-ID: <j1@kunde.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHallo!\r\n").encode()
    with smtplib.SMTP(desk.host, desk.port) as client:
        client.sendmail("jörg@kunde.example", ["support@example.com"], raw, mail_options=["SMTPUTF8"])
    desk.settle()
    (alice,) = desk.to("alice@example.com", desk.take())
    assert "Jörg <jörg@kunde.example> wrote" in text_of(alice)
    desk.send(reply_text("alice@example.com", alice, "Hallo Jörg!"), alice["Reply-To"].addresses[0].addr_spec,
              "alice@example.com")
    (told,) = desk.take()
    assert "alice@example.com" in str(told["To"]) and "needs SMTPUTF8" in text_of(told)


@pytest.mark.parametrize("to", ["note+hello@example.com", "note+k7q2m9xa-aaaaaaaa@example.com"])
def test_mail_to_a_note_address_without_a_valid_token_opens_nothing(desk: Desk, store, to: str) -> None:
    desk.send(make_mail(to=to), to, "anne@customer.example")
    assert desk.take() == []
    with store.reading() as tx:
        assert tx.exec(select(RawMessage.stage)).one() == "authenticate"
        assert tx.exec(select(Conversation)).all() == []


def test_a_colleague_in_cc_is_shown_as_the_writer_not_the_customer(desk: Desk, store) -> None:
    got = open_conversation(desk)
    ref = conversation(store).ref
    raw = make_mail(sender="Carol <carol@customer.example>", cc="anne@customer.example",
                    subject=f"Re: Printer offline [#{ref}]", message_id="<c1@customer.example>",
                    In_Reply_To=got["ack"]["Message-ID"], body="Same here on floor 2.\n")
    desk.send(raw, got["ack"]["Reply-To"].addresses[0].addr_spec, "carol@customer.example")
    (alice,) = desk.to("alice@example.com", desk.take())
    assert sender(alice)[0] == "Carol via Support"
    assert "Carol <carol@customer.example> wrote" in text_of(alice)


def test_a_reply_after_the_conversation_was_merged_goes_to_the_surviving_one(desk: Desk, store) -> None:
    got = open_conversation(desk)
    desk.customer_writes(subject="Scanner broken", message_id="<req-9@customer.example>", body="Also the scanner.\n")
    desk.take()
    with store.transaction() as tx:
        printer, scanner = tx.exec(select(Conversation).order_by(Conversation.id)).all()
        merge(tx, printer, scanner, desk.clock())
        survivor_ref = scanner.ref
    desk.agent_replies("mutt.eml", "alice@example.com", got["alice"])
    (relayed,) = desk.to("anne@customer.example", desk.take())
    assert str(relayed["Subject"]) == f"Re: Scanner broken [#{survivor_ref}]"
    assert relayed["In-Reply-To"] == "<req-9@customer.example>"
    with store.reading() as tx:
        kinds = [m.kind for m in tx.exec(select(Message).join(Conversation).where(
            Conversation.ref == survivor_ref)).all()]
    assert kinds.count("customer") == 2 and "agent" in kinds and "agent_reply" in kinds


def test_conversations_of_two_customers_are_never_merged(desk: Desk, store) -> None:
    desk.customer_writes()
    desk.send(make_mail(sender="Bo <bo@other.example>", subject="Other", message_id="<bo@other.example>"),
              "support@example.com", "bo@other.example")
    with store.transaction() as tx:
        first, second = tx.exec(select(Conversation).order_by(Conversation.id)).all()
        with pytest.raises(GatewayError, match="different customers"):
            merge(tx, first, second, desk.clock())


def test_a_removed_agent_is_no_longer_notified(desk: Desk, store) -> None:
    with store.transaction() as tx:
        tx.exec(select(Agent).where(Agent.address == "bob@example.com")).one().active = False
    desk.customer_writes()
    mails = desk.take()
    assert desk.to("alice@example.com", mails) and not desk.to("bob@example.com", mails)


def test_the_not_understood_limit_is_per_conversation(desk: Desk, store) -> None:
    first = open_conversation(desk)["alice"]
    desk.customer_writes(subject="Scanner broken", message_id="<req-9@customer.example>", body="The scanner too.\n")
    second = desk.to("alice@example.com", desk.take())[0]
    for notification in (first, second):
        to = notification["Reply-To"].addresses[0].addr_spec
        desk.send(reply_text("alice@example.com", notification, "#clsoe"), to, "alice@example.com")
    told = desk.take()
    assert len(told) == 2 and all("did you mean #close?" in text_of(m) for m in told)
