"""Which conversation a message joins, and which rule placed it."""

from __future__ import annotations

from sqlmodel import col, select

from gateway.models import Conversation, RawMessage, Status
from gateway.pipeline import Processor, Runtime
from gateway.reply_token import reply_address
from tests.conftest import SECRET
from tests.helpers import conversations, deliver, make_mail, messages, outbox_items

ANNE = "Anne Example <anne@customer.example>"
MALLORY = "Mallory <mallory@evil.example>"


def first_conversation(processor) -> tuple[Conversation, str]:
    deliver(processor, make_mail(cc="Bob <bob@customer.example>"))
    [conversation] = conversations(processor.rt.store)
    [ack] = outbox_items(processor.rt.store)
    return conversation, ack.message_id


def placed(store) -> list[tuple[str, str | None]]:
    refs = {c.id: c.ref for c in conversations(store)}
    return [(refs.get(m.conversation_id, "-"), m.matched_by) for m in messages(store) if m.direction == "in"]


def test_a_reply_to_the_token_address_joins_by_token_even_from_another_address(processor, store):
    conversation, _ = first_conversation(processor)
    token = reply_address(SECRET, "support@example.com", conversation.ref)
    deliver(processor, make_mail(sender="Colleague <carol@other.example>", to=token, subject="Re: whatever",
                                 message_id="<r1@x>"), rcpts=(token,))
    assert placed(store)[-1] == (conversation.ref, "token")


def test_a_forged_token_does_not_join(processor, store):
    conversation, _ = first_conversation(processor)
    forged = f"support+{conversation.ref.lower()}-aaaaaaaa@example.com"
    deliver(processor, make_mail(sender=MALLORY, to=forged, subject="hi", message_id="<f1@x>"), rcpts=(forged,))
    [(ref, rule)] = placed(store)[1:]
    assert ref != conversation.ref and rule == "new"


def test_a_reply_to_an_address_made_under_an_old_secret_is_threaded_not_quarantined(store, settings, clock):
    old = Processor(Runtime(store, settings, "the old secret", clock))
    conversation, ack_id = first_conversation(old)
    stale = reply_address("the old secret", "support@example.com", conversation.ref)
    deliver(Processor(Runtime(store, settings, SECRET, clock)),
            make_mail(sender=ANNE, to=stale, subject="Re: Printer offline", message_id="<after@x>",
                      In_Reply_To=ack_id, References=ack_id), rcpts=(stale,))
    assert placed(store)[-1] == (conversation.ref, "references")
    with store.reading() as tx:
        assert tx.exec(select(RawMessage.state).order_by(col(RawMessage.id).desc())).first() == "processed"


def test_a_reply_to_our_acknowledgement_joins_by_our_message_id(processor, store):
    conversation, ack_id = first_conversation(processor)
    deliver(processor, make_mail(sender=ANNE, subject="Re: Printer offline", message_id="<r2@x>",
                                 In_Reply_To=ack_id, References=ack_id))
    assert placed(store)[-1] == (conversation.ref, "our-message-id")


def test_a_follow_up_referencing_the_customers_own_mail_joins_by_references(processor, store):
    conversation, _ = first_conversation(processor)
    deliver(processor, make_mail(sender=ANNE, subject="one more thing", message_id="<r3@x>",
                                 References="<req-1@customer.example>"))
    assert placed(store)[-1] == (conversation.ref, "references")


def test_a_participant_in_cc_may_join_by_references(processor, store):
    conversation, _ = first_conversation(processor)
    deliver(processor, make_mail(sender="Bob <bob@customer.example>", subject="Re: Printer offline",
                                 message_id="<r4@x>", In_Reply_To="<req-1@customer.example>"))
    assert placed(store)[-1] == (conversation.ref, "references")


def test_the_ref_in_the_subject_joins_for_the_customer(processor, store):
    conversation, _ = first_conversation(processor)
    deliver(processor, make_mail(sender=ANNE, subject=f"Still broken [#{conversation.ref}]", message_id="<r5@x>"))
    assert placed(store)[-1] == (conversation.ref, "subject-ref")


def test_the_same_request_sent_again_joins_the_open_conversation(processor, store):
    conversation, _ = first_conversation(processor)
    deliver(processor, make_mail(sender=ANNE, subject="Fwd: Printer offline", message_id="<r6@x>"))
    assert placed(store)[-1] == (conversation.ref, "same-request")
    assert len(outbox_items(store)) == 1, "a re-sent request is not acknowledged again"


def test_nearly_the_same_text_under_another_subject_joins_as_the_same_request(processor, store):
    body = ("Hello, since this morning the printer in room 4 says it is offline and will not print anything. "
            "We restarted it twice, checked the cable and the network light is green. Other people on the "
            "floor have the same problem, so it is not just my laptop. Could you have a look today? We have "
            "invoices to print before the end of the month.\n\nThanks, Anne\n")
    deliver(processor, make_mail(body=body))
    [conversation] = conversations(store)
    deliver(processor, make_mail(subject="URGENT printer", body=body.replace("room 4", "room four"),
                                 message_id="<r7@x>"))
    assert placed(store)[-1] == (conversation.ref, "same-request")


def test_the_same_subject_after_the_window_opens_a_new_conversation(processor, store, clock):
    first_conversation(processor)
    clock.advance(days=8)
    deliver(processor, make_mail(sender=ANNE, subject="Printer offline", message_id="<r8@x>"))
    assert [m for _, m in placed(store)] == ["new", "new"]
    assert len(conversations(store)) == 2


def test_a_stranger_referencing_a_conversation_gets_a_new_linked_one_and_sees_nothing_of_it(processor, store):
    conversation, ack_id = first_conversation(processor)
    deliver(processor, make_mail(sender=MALLORY, subject=f"Re: Printer offline [#{conversation.ref}]",
                                 message_id="<s1@x>", In_Reply_To="<req-1@customer.example>"),
            mail_from="mallory@evil.example")
    old, new = conversations(store)
    assert placed(store)[-1] == (new.ref, "new-linked")
    assert new.linked_to_id == old.id
    mallory_ack = outbox_items(store)[-1]
    assert mallory_ack.rcpt_tos == ["mallory@evil.example"]
    assert b"my printer says" not in mallory_ack.raw and old.ref.encode() not in mallory_ack.raw


def reply_after_resolution(processor, store, clock, days: int) -> None:
    """Resolve the customer's conversation, then let `days` pass before she replies to our mail."""
    conversation, ack_id = first_conversation(processor)
    resolve(store, conversation.id, clock)
    clock.advance(days=days)
    deliver(processor, make_mail(sender=ANNE, subject="Re: Printer offline", message_id=f"<after-{days}@x>",
                                 In_Reply_To=ack_id))


def test_a_customer_reply_to_a_resolved_conversation_reopens_it(processor, store, clock):
    reply_after_resolution(processor, store, clock, days=3)
    [again] = conversations(store)
    assert again.status == Status.OPEN and again.resolved_at is None


def test_a_reply_long_after_resolution_opens_a_new_linked_conversation(processor, store, clock):
    reply_after_resolution(processor, store, clock, days=31)
    old, new = conversations(store)
    assert old.status == Status.RESOLVED
    assert new.linked_to_id == old.id and placed(store)[-1] == (new.ref, "new-linked")


def test_an_auto_reply_to_a_resolved_conversation_does_not_reopen_it(processor, store, clock):
    conversation, ack_id = first_conversation(processor)
    resolve(store, conversation.id, clock)
    deliver(processor, make_mail(sender=ANNE, subject="Automatic reply: Printer offline", message_id="<o3@x>",
                                 In_Reply_To=ack_id, Auto_Submitted="auto-replied"))
    [still] = conversations(store)
    assert still.status == Status.RESOLVED


def resolve(store, conversation_id: int, clock) -> None:
    with store.transaction() as tx:
        conversation = tx.exec(select(Conversation).where(Conversation.id == conversation_id)).one()
        conversation.status, conversation.resolved_at = Status.RESOLVED, clock()


def test_a_different_request_from_the_same_customer_opens_its_own_conversation(processor, store):
    first_conversation(processor)
    deliver(processor, make_mail(sender=ANNE, subject="Invoice 2026-113 is wrong", message_id="<r9@x>",
                                 body="The invoice charges us for twelve seats, but we cancelled four of them "
                                      "in January. Please send a corrected invoice.\n"))
    assert [m for _, m in placed(store)] == ["new", "new"]


def test_machine_mail_from_a_stranger_neither_joins_nor_makes_them_a_participant(processor, store):
    conversation, _ = first_conversation(processor)
    deliver(processor, make_mail(sender=MALLORY, subject="Automatic reply", message_id="<m1@x>",
                                 cc="Eve <eve@evil.example>", References="<req-1@customer.example>",
                                 Auto_Submitted="auto-replied"), mail_from="")
    deliver(processor, make_mail(sender=MALLORY, subject="Re: Printer offline", message_id="<m2@x>",
                                 References="<req-1@customer.example>"), mail_from="mallory@evil.example")
    kinds = [(m.kind, m.conversation_id, m.matched_by) for m in messages(store) if m.direction == "in"]
    assert kinds[1] == ("auto_reply", None, None)
    assert kinds[2][2] == "new-linked" and kinds[2][1] != conversation.id
