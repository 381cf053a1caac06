"""The agent-mail rule as a pure function: commands in, actions out, with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.actions import CloseHeld, RelayReply, TellAgent, UpdateConversation
from gateway.agents.reply import handle_agent_mail
from gateway.agents.reply_text import ReplyText
from gateway.agents.roster import AgentView
from gateway.classify import Sender, SenderKind
from gateway.config import Settings
from gateway.decision import AgentMail, Context, ConversationView, HeldView
from gateway.message import ParsedMessage
from gateway.models import ScheduledState

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ALICE = AgentView(1, "alice@example.com", "Alice")
BOB = AgentView(2, "bob@example.com", "Bob")


def context(text: str, html: str = "", customer: str = "anne@customer.example", **mail: object) -> Context:
    reply = ReplyText(text=text, html=html, stripped="", cut_by="marker")
    return Context(ParsedMessage(), Sender(SenderKind.AGENT, ALICE.address, "Alice", "support@example.com"),
                   ConversationView("K7Q2M9XA", "open", False, customer_name="Anne Example",
                                    customer_address=customer, tags=("vpn",)),
                   Settings(), NOW, roster=(ALICE, BOB),
                   agent_mail=AgentMail(ALICE, 7, reply, **mail),  # type: ignore[arg-type]
                   saved_replies={"thanks": "Thanks {{ customer_name }}!", "include": 'Hi {% include "x" %}',
                                  "empty": "{# nothing yet #}", "reset vpn": "Please reset it."})


def test_state_commands_become_one_update() -> None:
    decision = handle_agent_mail(context("#priority urgent\n#untag vpn\n#nosurvey\n#assign bob\n#resolve"))
    assert decision.final
    assert decision.actions == (UpdateConversation(status="resolved", assign=BOB, remove_tags=("vpn",),
                                                   priority="urgent", no_survey=True),)


def test_a_reply_that_still_shows_the_notifications_internal_lines_is_not_relayed() -> None:
    decision = handle_agent_mail(context("Sure!\n##- Reply above this line to answer the customer -##\nCommands: x"))
    assert decision.actions == (TellAgent(ALICE, "not_relayed"),)


def test_a_reply_to_a_customer_with_no_address_is_not_relayed_and_the_agent_is_told_why() -> None:
    # A conversation of such mail from before the pipeline quarantined it: "sent" to nobody, it would be lost.
    (told,) = handle_agent_mail(context("Sure, try again.", customer="")).actions
    assert isinstance(told, TellAgent) and told.template == "not_relayed" and "no address" in told.lines[0]


def test_an_unknown_saved_reply_is_not_sent_and_the_agent_is_told_which_exist() -> None:
    (told,) = handle_agent_mail(context("#template thx\n\nHi")).actions
    assert isinstance(told, TellAgent) and "saved replies: empty, include, reset vpn, thanks" in told.lines[0]


def test_a_saved_reply_is_personalised_with_the_customers_first_name() -> None:
    (relay,) = handle_agent_mail(context("#template thanks")).actions
    assert relay == RelayReply(ALICE, "Thanks Anne!", "", 7, saved_reply="thanks")


def test_a_saved_reply_whose_name_has_a_space_is_found_by_its_whole_name() -> None:
    (relay,) = handle_agent_mail(context("#template Reset VPN")).actions
    assert relay == RelayReply(ALICE, "Please reset it.", "", 7, saved_reply="reset vpn")


def test_a_saved_reply_that_cannot_render_tells_the_agent_and_sends_nothing() -> None:
    for name, why in (("include", "no loader for this environment specified"), ("empty", "it is empty")):
        (told,) = handle_agent_mail(context(f"#template {name}\n\nHi")).actions
        assert told == TellAgent(ALICE, "not_understood", (
            f"#template {name}: the saved reply is broken ({why}); tell an admin",))


def test_send_without_a_held_reply_is_an_error() -> None:
    (told,) = handle_agent_mail(context("#send")).actions
    assert isinstance(told, TellAgent) and "no held reply" in told.lines[0]


def test_the_not_understood_answer_is_rate_limited() -> None:
    assert handle_agent_mail(context("#clsoe", last_notice_at=NOW)).actions == ()


def test_ordinary_words_about_earlier_conversations_are_not_mistaken_for_internal_lines() -> None:
    (relay,) = handle_agent_mail(context("As in our earlier conversation, the partner portal is down.")).actions
    assert isinstance(relay, RelayReply)


def test_internal_lines_in_the_html_part_block_the_relay_too() -> None:
    html = "<div>Sure!</div><blockquote><div>Conversation K7Q2M9XA · open · priority normal</div></blockquote>"
    assert handle_agent_mail(context("Sure!", html)).actions == (TellAgent(ALICE, "not_relayed"),)


def test_a_reply_with_only_an_attachment_is_relayed() -> None:
    (relay,) = handle_agent_mail(context("", has_files=True)).actions
    assert relay == RelayReply(ALICE, "", "", 7)


def test_text_beside_send_is_not_silently_dropped() -> None:
    held = HeldView(3, 9, "Held words.", "")
    (told,) = handle_agent_mail(context("#send\n\nPS: one more thing", held=held)).actions
    assert isinstance(told, TellAgent) and "#send or #drop alone" in told.lines[0]


def test_a_held_reply_is_sent_exactly_as_it_was_held() -> None:
    held = HeldView(3, 9, "Thanks Anne!\n\nHeld words.", "")
    assert handle_agent_mail(context("#send", held=held)).actions == (
        CloseHeld(3, ScheduledState.DONE), RelayReply(ALICE, "Thanks Anne!\n\nHeld words.", "", 9))
