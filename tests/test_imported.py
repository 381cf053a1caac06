"""The pipeline knows imported mail by its source: threaded by the same code, answered by nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from gateway.actions import NotifyAgents
from gateway.agents.roster import AgentView
from gateway.archive.headers import archive_header, read_hints, without_archive_header
from gateway.classify import Sender, SenderKind
from gateway.decision import Context, ConversationView
from gateway.imported import IMPORT_SOURCE, stop_imported_mail
from gateway.message import parse
from gateway.inbound.accept import Envelope, accept
from gateway.models import Agent, Conversation, Message, RawMessage
from gateway.rules import RULES, decide
from tests.helpers import conversations, deliver, load_raw, make_mail, messages, outbox_items, run_until_idle

def imported(processor, raw: bytes, when: datetime | None = None) -> None:
    """Store mail as `gateway import` does (source "import", dated as written), then process it."""
    rt = processor.rt
    raw_id = accept(raw, Envelope(None, (), "import test", IMPORT_SOURCE), store=rt.store, now=rt.clock())
    with rt.store.transaction() as tx:
        tx.get(RawMessage, raw_id).received_at = when or rt.clock()
    run_until_idle(processor.run_once)


HEADER = archive_header("K7Q2M9XA", {"direction": "in", "kind": "customer", "received": "2025-01-05T10:00:00+00:00"},
                        {"status": "pending", "priority": "high", "tags": "billing vip"})


def test_the_first_rule_stops_everything_for_imported_mail(settings):
    msg = parse(make_mail())
    sender = Sender(SenderKind.CUSTOMER, "anne@customer.example", "Anne", "support@example.com")
    view = ConversationView("K7Q2M9XA", "open", True, customer_address="anne@customer.example")
    now, roster = datetime(2026, 3, 2, tzinfo=UTC), (AgentView(1, "alice@example.com", "Alice"),)
    imported = Context(msg, sender, view, settings, now, roster=roster, imported=True)
    assert RULES[0] is stop_imported_mail
    assert stop_imported_mail(imported).final and decide(imported) == []
    # The same mail, live, goes to the agents.
    assert decide(Context(msg, sender, view, settings, now, roster=roster)) == [NotifyAgents(("alice@example.com",))]


def test_imported_customer_mail_opens_a_resolved_conversation_in_its_own_time_and_sends_nothing(processor, store):
    with store.transaction() as tx:
        tx.add(Agent(address="alice@example.com", name="Alice"))
    imported(processor, make_mail(), datetime(2025, 1, 5, 10, 0, tzinfo=UTC))
    (conversation,) = conversations(store)
    assert conversation.status == "resolved" and conversation.created_at == datetime(2025, 1, 5, 10, 0, tzinfo=UTC)
    assert outbox_items(store) == []  # No acknowledgement, no notification to Alice.
    (message,) = messages(store)
    assert message.direction == "in" and message.kind == "customer"


def test_archive_headers_put_a_message_back_in_its_conversation_with_its_state(processor, store):
    imported(processor, HEADER + make_mail())
    (conversation,) = conversations(store)
    assert (conversation.ref, conversation.status, conversation.priority, conversation.tags) == (
        "K7Q2M9XA", "pending", "high", ["billing", "vip"])
    (message,) = messages(store)
    assert message.matched_by == "archive"


def test_archive_headers_mean_nothing_on_mail_that_arrived_by_smtp(processor, store):
    deliver(processor, HEADER + make_mail())
    (conversation,) = conversations(store)
    assert conversation.ref != "K7Q2M9XA" and conversation.status == "open" and conversation.tags == []
    assert [i.kind for i in outbox_items(store)] == ["acknowledgement"]


def test_a_strangers_archived_mail_never_joins_someone_elses_conversation(processor, store):
    imported(processor, HEADER + make_mail())
    stranger = archive_header("K7Q2M9XA", {"direction": "in", "kind": "customer"}, {"status": "open"})
    imported(processor, stranger + make_mail(sender="Eve <eve@evil.example>", subject="Hello", message_id="<e@x>"))
    with store.reading() as tx:
        eve = tx.exec(select(Message).where(Message.sender == "eve@evil.example")).one()
        assert tx.get(Conversation, eve.conversation_id).ref != "K7Q2M9XA"


def test_our_own_reply_in_the_history_is_kept_as_sent_mail_not_refused_as_a_loop(processor, store):
    imported(processor, make_mail(), datetime(2025, 1, 5, 10, 0, tzinfo=UTC))
    imported(processor, make_mail(sender="Support <support@example.com>", to="anne@customer.example",
                                  subject="Re: Printer offline", message_id="<ours@example.com>",
                                  body="Restart it.\n", In_Reply_To="<req-1@customer.example>"),
             datetime(2025, 1, 5, 11, 0, tzinfo=UTC))
    (conversation,) = conversations(store)
    ours = messages(store)[-1]
    assert (ours.direction, ours.kind, ours.conversation_id) == ("out", "agent_reply", conversation.id)
    assert conversation.first_response_at == datetime(2025, 1, 5, 11, 0, tzinfo=UTC)
    assert outbox_items(store) == []


def test_imported_machine_mail_is_kept_and_never_answered(processor, store):
    imported(processor, load_raw("outlook_ooo.eml"))
    assert conversations(store) == [] and outbox_items(store) == []
    assert messages(store)[0].kind == "auto_reply"


def test_archive_headers_are_read_and_removed_exactly():
    raw = HEADER + make_mail()
    hints = read_hints(parse(raw).header)
    assert (hints.ref, hints.direction, hints.kind, hints.status, hints.priority, hints.tags) == (
        "K7Q2M9XA", "in", "customer", "pending", "high", ("billing", "vip"))
    assert hints.received == datetime(2025, 1, 5, 10, 0, tzinfo=UTC)
    assert without_archive_header(raw) == make_mail()
    assert read_hints(parse(make_mail()).header).ref == ""


def _live(processor, store) -> Conversation:
    """Anne's conversation, opened by her mail over SMTP and still waiting for an agent."""
    with store.transaction() as tx:
        tx.add(Agent(address="alice@example.com", name="Alice"))
    deliver(processor, make_mail())
    (conversation,) = conversations(store)
    return conversation


def test_an_imported_mail_the_archive_calls_an_agents_is_a_customers_unless_an_agent_wrote_it(processor, store):
    live = _live(processor, store)
    says_agent = archive_header(live.ref, {"direction": "in", "kind": "agent"}, {})
    imported(processor, says_agent + make_mail(sender="Eve <eve@evil.example>", subject="Re: Printer offline",
                                               message_id="<e@evil.example>", body="Closing this, all done.\n"))
    imported(processor, says_agent + make_mail(sender="Alice <alice@example.com>", subject="Re: Printer offline",
                                               message_id="<a@example.com>", body="Looking into it.\n"))
    with store.reading() as tx:
        eve = tx.exec(select(Message).where(Message.sender == "eve@evil.example")).one()
        alice = tx.exec(select(Message).where(Message.sender == "alice@example.com")).one()
    assert (eve.kind, alice.kind) == ("customer", "agent")
    assert eve.conversation_id != live.id and alice.conversation_id == live.id


def test_an_imported_mail_the_archive_calls_ours_is_ours_only_from_a_support_address_or_an_agent(processor, store):
    live = _live(processor, store)
    says_ours = archive_header(live.ref, {"direction": "out", "kind": "agent_reply"}, {})
    imported(processor, says_ours + make_mail(sender="Support <eve@evil.example>", to="anne@customer.example",
                                              subject="Re: Printer offline", message_id="<e@evil.example>",
                                              body="Please send your password.\n",
                                              In_Reply_To="<req-1@customer.example>"))
    with store.reading() as tx:
        eve = tx.exec(select(Message).where(Message.sender == "eve@evil.example")).one()
        assert (eve.direction, eve.kind) == ("in", "customer") and eve.conversation_id != live.id
        assert tx.get(Conversation, live.id).first_response_at is None


def test_importing_history_never_changes_a_live_conversations_state(processor, store):
    live = _live(processor, store)
    state = {"status": "resolved", "priority": "urgent", "tags": "spam", "assignee": "alice@example.com"}
    # Anne's own old mail, and our old reply to her, with an archive's headers naming her live conversation.
    imported(processor, archive_header(live.ref, {"direction": "in", "kind": "customer"}, state) + make_mail(
        subject="Re: Printer offline", message_id="<old@customer.example>", body="An old mail of mine.\n"))
    imported(processor, archive_header(live.ref, {"direction": "out", "kind": "agent_reply"}, state) + make_mail(
        sender="Support <support@example.com>", to="anne@customer.example", subject="Re: Printer offline",
        message_id="<old-reply@example.com>", body="An old reply.\n", In_Reply_To="<old@customer.example>"))
    assert [m.conversation_id for m in messages(store) if m.message_id.startswith("<old")] == [live.id] * 2
    (after,) = conversations(store)
    assert (after.status, after.priority, after.tags, after.assignee_id, after.first_response_at) == (
        "open", "normal", [], None, None)
