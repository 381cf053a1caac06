"""`gateway conversations tag | untag | assign | close | reopen | note | reply | split | link` and `show`."""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime, timedelta
from email.policy import default

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from gateway import conversation_admin
from gateway.actions import UpdateConversation
from gateway.cli import app
from gateway.models import Agent, Conversation, Customer, Message, Note
from tests.helpers import conversations, deliver, make_mail, outbox_items, run_until_idle

runner = CliRunner()


@pytest.fixture
def ref(processor, store) -> str:
    with store.transaction() as tx:
        tx.add_all([Agent(address="alice@example.com", name="Alice Smith"), Agent(address="bob@example.com",
                                                                                 name="Bob")])
    deliver(processor, make_mail())
    return conversations(store)[0].ref


def gateway(env, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.stdout if code == 0 else result.stderr.strip()


def shown(env, ref: str) -> dict:
    return json.loads(gateway(env, "conversations", "show", ref, "--json"))


def test_tag_and_untag_change_tags_and_leave_a_note_like_an_agents_commands(env, ref):
    assert gateway(env, "conversations", "tag", ref, "Billing", "refund").strip() == f"{ref}: tagged billing, refund"
    assert gateway(env, "conversations", "untag", ref.lower(), "refund").strip() == f"{ref}: untagged refund"
    record = shown(env, ref)
    assert record["tags"] == ["billing"]
    changes = [n for n in record["notes"] if n["kind"] == "changed"]
    assert [n["body"] for n in changes] == ["tags billing, refund", "tags billing"]
    assert all(n["author"].endswith("(admin)") for n in changes)
    assert gateway(env, "conversations", "tag", ref, "billing").strip() == f"{ref}: already has those tags"


def test_a_tag_an_agent_could_not_write_is_refused_the_same_way(env, ref):
    assert gateway(env, "conversations", "tag", ref, "two words", code=2) == (
        "error: tag two words: a tag is one word (letters, digits, - . _)")


def test_state_changes_go_through_the_same_apply_as_agents_mail(env, ref, monkeypatch):
    seen = []
    real = conversation_admin.apply

    def spy(tx, conversation, message, actions, *rest):  # type: ignore[no-untyped-def]
        seen.extend(actions)
        return real(tx, conversation, message, actions, *rest)

    monkeypatch.setattr(conversation_admin, "apply", spy)
    gateway(env, "conversations", "close", ref)
    assert seen == [UpdateConversation(status="resolved")]


def test_close_and_reopen(env, ref):
    assert gateway(env, "conversations", "close", ref).strip() == f"{ref}: resolved"
    record = shown(env, ref)
    assert record["status"] == "resolved" and record["resolved_at"]
    assert gateway(env, "conversations", "close", ref).strip() == f"{ref}: is resolved already"
    assert gateway(env, "conversations", "reopen", ref).strip() == f"{ref}: open"
    record = shown(env, ref)
    assert record["status"] == "open" and record["resolved_at"] is None
    assert [n["body"] for n in record["notes"] if n["kind"] == "changed"] == ["status resolved", "status open"]


def test_assign_names_an_agent_by_address_local_part_or_name_and_nobody_unassigns(env, ref):
    assert gateway(env, "conversations", "assign", ref, "Alice").strip() == f"{ref}: assigned to alice@example.com"
    assert shown(env, ref)["assignee"] == "alice@example.com"
    assert gateway(env, "conversations", "assign", ref, "bob@example.com").strip().endswith("bob@example.com")
    assert gateway(env, "conversations", "assign", ref, "nobody").strip() == f"{ref}: unassigned"
    assert shown(env, ref)["assignee"] is None
    assert gateway(env, "conversations", "assign", ref, "carol", code=2) == (
        "error: no agent 'carol' (agents: alice, bob)")
    assert "name the agent" in gateway(env, "conversations", "assign", ref, "me", code=2)


def test_a_change_to_a_merged_conversation_names_the_one_that_took_it_over(env, ref, processor, store):
    deliver(processor, make_mail(subject="Scanner broken", message_id="<s@x>", body="The scanner too.\n"))
    survivor = conversations(store)[1].ref
    gateway(env, "conversations", "merge", ref, survivor)
    assert gateway(env, "conversations", "close", ref, code=1) == (
        f"error: {ref} was merged into {survivor}; change that one instead")


def test_an_unknown_or_malformed_ref_is_one_line(env, ref):
    assert gateway(env, "conversations", "close", "ZZZZ2222", code=1) == (
        "error: no conversation 'ZZZZ2222'; `gateway conversations list` shows the refs")
    assert gateway(env, "conversations", "close", "K7Q", code=2) == (
        "error: 'K7Q' is not a conversation reference; a ref is 8 letters and digits, like K7Q2M9XA")


def test_a_note_stays_internal(env, ref, store):
    before = len(outbox_items(store))
    assert gateway(env, "conversations", "note", ref, "Called her; waiting for the invoice").strip() == (
        f"{ref}: note added")
    (note,) = [n for n in shown(env, ref)["notes"] if n["kind"] == "agent_note"]
    assert note["body"] == "Called her; waiting for the invoice" and note["author"].endswith("(admin)")
    assert len(outbox_items(store)) == before
    assert gateway(env, "conversations", "note", ref, "  ", code=2).startswith("error: the note is empty")


def test_a_reply_goes_to_the_customer_through_the_relay_as_the_agent(env, ref, store, tmp_path, relay_sender,
                                                                     relay_sink, clock):
    answer = tmp_path / "answer.txt"
    answer.write_text("Hi Anne,\n\nSwitch it off and on again.\n\nAlice\n")
    assert "reply from alice@example.com queued" in gateway(env, "conversations", "reply", ref, "--file",
                                                            str(answer), "--as", "alice")
    clock.now = datetime.now(UTC) + timedelta(minutes=1)  # The CLI queued it on the real clock.
    run_until_idle(relay_sender.run_once)
    mails = [email.message_from_bytes(r.raw, policy=default) for r in relay_sink.handler.received]
    (reply,) = [m for m in mails if "anne@customer.example" in str(m["To"])
                and "Switch it off" in m.get_body(("plain",)).get_content()]
    (told,) = [m for m in mails if "Switch it off" in m.get_body(("plain",)).get_content() and m is not reply]
    assert str(told["To"]) == "bob@example.com"  # The colleague who was notified hears of the answer.
    assert str(reply["From"]) == '"Alice Smith (Support)" <support@example.com>'
    assert str(reply["To"]) == "Anne Example <anne@customer.example>"
    assert reply["In-Reply-To"] == "<req-1@customer.example>" and f"[#{ref}]" in reply["Subject"]
    assert "Auto-Submitted" not in reply
    record = shown(env, ref)
    assert record["first_response_at"] is not None
    assert [m["agent"] for m in record["messages"] if m["kind"] == "agent_reply"] == ["alice@example.com"]


def test_a_reply_without_an_agent_goes_from_the_assignee_or_asks_who(env, ref, tmp_path):
    answer = tmp_path / "answer.txt"
    answer.write_text("Fixed.\n")
    assert gateway(env, "conversations", "reply", ref, "--file", str(answer), code=2) == (
        f"error: {ref} is assigned to nobody; say who answers with --as AGENT "
        "(agents: alice@example.com, bob@example.com)")
    answer.write_text("\n  \n")
    assert gateway(env, "conversations", "reply", ref, "--file", str(answer), "--as", "bob", code=2) == (
        f"error: {answer} is empty; write the answer into it")
    answer.write_text("Fixed.\n")
    gateway(env, "conversations", "assign", ref, "bob")
    assert "reply from bob@example.com" in gateway(env, "conversations", "reply", ref, "--file", str(answer))


def test_a_reply_to_an_address_that_hard_bounced_lately_is_sent_with_a_warning(env, ref, store, tmp_path):
    answer = tmp_path / "answer.txt"
    answer.write_text("Fixed.\n")
    with store.transaction() as tx:
        tx.exec(select(Customer)).one().bounced_at = datetime.now(UTC) - timedelta(days=2)
    result = runner.invoke(app, ["conversations", "reply", ref, "-f", str(answer), "--as", "bob"], env=env)
    assert result.exit_code == 0 and "queued for the customer" in result.stdout
    assert result.stderr.startswith("warning: mail to anne@customer.example hard-bounced on ")


def test_a_reply_right_after_a_colleagues_needs_force(env, ref, store, tmp_path):
    answer = tmp_path / "answer.txt"
    answer.write_text("Fixed.\n")
    gateway(env, "conversations", "reply", ref, "--file", str(answer), "--as", "bob")
    with store.transaction() as tx:  # Bob's reply went out on the real clock: a minute ago.
        for message in tx.exec(select(Message).where(Message.kind == "agent_reply")).all():
            message.created_at = datetime.now(UTC) - timedelta(minutes=1)
    refused = gateway(env, "conversations", "reply", ref, "--file", str(answer), "--as", "alice", code=1)
    assert refused.startswith("error: Bob answered the customer 1 minutes ago") and "--force" in refused
    gateway(env, "conversations", "reply", ref, "--file", str(answer), "--as", "alice", "--force")


def test_a_reply_is_refused_when_the_mail_rule_would_refuse_it(env, ref, store, tmp_path):
    leaky = tmp_path / "leaky.txt"
    leaky.write_text("Fixed.\n\n##- Reply above this line to answer the customer -##\n")
    assert "internal notification" in gateway(env, "conversations", "reply", ref, "-f", str(leaky), "--as", "bob",
                                              code=1)
    with store.transaction() as tx:
        tx.exec(select(Customer)).one().address = "anné@exämple.de"
    leaky.write_text("Fixed.\n")
    assert "SMTPUTF8" in gateway(env, "conversations", "reply", ref, "-f", str(leaky), "--as", "bob", code=1)
    with store.transaction() as tx:
        tx.exec(select(Customer)).one().address = ""  # mail from before address-less mail was quarantined
    assert "no customer address to answer" in gateway(env, "conversations", "reply", ref, "-f", str(leaky), "--as",
                                                      "bob", code=1)
    assert gateway(env, "conversations", "reply", ref, "-f", "/nope", "--as", "bob", code=2) == (
        "error: cannot read /nope: No such file or directory")


@pytest.mark.parametrize("answer", ["#note\nInternal: a reseller, give code STAFF20\n", "\n#close\nGlad it works.\n",
                                    "#clsoe\nGlad it works.\n", "<p>#note</p><p>Internal only</p>"],
                         ids=["note", "close after a blank line", "a mistyped command", "html"])
def test_a_reply_that_starts_with_mail_commands_is_refused_so_they_never_reach_the_customer(
        env, ref, store, tmp_path, answer):
    path = tmp_path / ("answer.html" if answer.startswith("<") else "answer.txt")
    path.write_text(answer)
    refused = gateway(env, "conversations", "reply", ref, "-f", str(path), "--as", "bob", code=2)
    assert refused.startswith("error: the answer starts with the command line '#") and "note|close" in refused
    assert not [item for item in outbox_items(store) if item.kind == "agent_reply"]


def test_split_moves_a_message_and_what_follows_and_tells_the_customer_nothing(env, ref, processor, store):
    deliver(processor, make_mail(subject="Re: Printer offline", message_id="<req-2@customer.example>",
                                 body="Also, my invoice is wrong.\n", In_Reply_To="<req-1@customer.example>"))
    second = [m for m in shown(env, ref)["messages"] if m["message_id"] == "<req-2@customer.example>"][0]
    before = len(outbox_items(store))
    out = gateway(env, "conversations", "split", ref, "--from", f"#{second['id']}")
    new_ref = out.strip().rsplit(" ", 1)[1]
    old, new = shown(env, ref), shown(env, new_ref)
    assert [m["message_id"] for m in new["messages"] if m["direction"] == "in"] == ["<req-2@customer.example>"]
    assert {m["kind"] for m in new["messages"] if m["direction"] == "out"} == {"notification"}
    assert "<req-2@customer.example>" not in [m["message_id"] for m in old["messages"]]
    assert new["linked_to"] == ref and new["customer"] == "anne@customer.example"
    assert any(n["kind"] == "split" for n in old["notes"]) and any(n["kind"] == "split" for n in new["notes"])
    assert len(outbox_items(store)) == before
    # The customer's next reply to the moved mail follows it.
    deliver(processor, make_mail(subject="Re: Printer offline", message_id="<req-3@customer.example>",
                                 body="Any news on the invoice?\n", In_Reply_To="<req-2@customer.example>",
                                 References="<req-1@customer.example> <req-2@customer.example>"))
    assert "<req-3@customer.example>" in [m["message_id"] for m in shown(env, new_ref)["messages"]]


def test_split_refuses_the_first_message_and_strangers(env, ref, processor, store):
    first = shown(env, ref)["messages"][0]["id"]
    assert "would move everything" in gateway(env, "conversations", "split", ref, "--from", str(first), code=1)
    assert gateway(env, "conversations", "split", ref, "--from", "999", code=2) == (
        f"error: {ref} has no message '999'; `gateway conversations show {ref}` numbers them (#ID)")
    assert gateway(env, "conversations", "split", ref, "--from", "99999999999999999999", code=2) == (
        f"error: {ref} has no message '99999999999999999999'; `gateway conversations show {ref}` numbers them (#ID)")


def test_link_points_one_conversation_at_another_and_says_so_on_both(env, ref, processor, store):
    deliver(processor, make_mail(sender="Bo <bo@other.example>", subject="Printer offline too", message_id="<b@x>"))
    other = conversations(store)[1].ref
    assert gateway(env, "conversations", "link", other, ref).strip() == f"{other}: linked to {ref}"
    assert shown(env, other)["linked_to"] == ref
    assert [n["body"] for n in shown(env, ref)["notes"] if n["kind"] == "linked"] == [
        f"linked to {other} (Printer offline too)"]
    assert gateway(env, "conversations", "link", other, ref).strip() == f"{other} is linked to {ref} already"
    assert "itself" in gateway(env, "conversations", "link", ref, ref, code=1)


def test_show_folds_quotes_marks_notes_and_shows_failed_delivery(env, ref, processor, store, relay_sender,
                                                                 relay_sink):
    deliver(processor, make_mail(subject="Re: Printer offline", message_id="<req-2@customer.example>",
                                 body="Still offline.\n\nOn Mon, 2 Mar 2026, Support wrote:\n> We have your message\n"
                                      "> and will answer soon.\n", In_Reply_To="<req-1@customer.example>"))
    relay_sink.handler.reply = "550 5.1.1 <anne@customer.example>: no such user"
    run_until_idle(relay_sender.run_once)
    ack = next(i for i in outbox_items(store) if i.kind == "acknowledgement")
    deliver(processor, make_mail(sender="Mail Delivery System <MAILER-DAEMON@mx.customer.example>",
                                 subject="Undelivered Mail Returned to Sender", message_id="<dsn@mx>",
                                 body="550 5.1.1 user unknown\n", In_Reply_To=ack.message_id), mail_from="")
    with store.transaction() as tx:
        conversation = tx.exec(select(Conversation)).one()
        tx.add(Note(conversation_id=conversation.id, created_at=conversation.created_at, kind="bounce_hard",
                    body="anne@customer.example bounced"))
    text = gateway(env, "conversations", "show", ref)
    assert "Still offline." in text and "> and will answer soon." not in text
    assert "lines folded: quote header; --full shows them" in text
    assert "[failed: 550 5.1.1 <anne@customer.example>: no such user]" in text
    assert "bounce (delivery problem)" in text
    assert "DELIVERY FAILED (internal)" in text and "BOUNCE HARD (internal): anne@customer.example bounced" in text
    assert "> and will answer soon." in gateway(env, "conversations", "show", ref, "--full")


def test_show_json_numbers_messages_and_carries_their_delivery(env, ref):
    record = shown(env, ref)
    customer, *ours = record["messages"]
    assert isinstance(customer["id"], int) and customer["delivery"] is None
    assert {m["delivery"]["state"] for m in ours} == {"pending"}
    assert set(ours[0]["delivery"]) == {"outbox_id", "state", "attempts", "next_attempt_at", "last_error"}
