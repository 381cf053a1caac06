"""Trusting the MTA in front: an agent's reply it says failed DMARC is quarantined, never relayed."""

from __future__ import annotations

import pytest
from sqlmodel import select

from gateway.agents.auth import dmarc_failure
from gateway.config import replace
from gateway.models import RawMessage, RawState
from tests.agents.conftest import Desk
from tests.agents.test_agent_flow import open_conversation, reply_text

OURS = "mx.example.com"


@pytest.fixture
def desk_settings(desk_settings):
    return replace(desk_settings, authentication={"authserv_id": OURS})


def with_results(raw: bytes, *values: str) -> bytes:
    return b"".join(f"Authentication-Results: {v}\r\n".encode() for v in values) + raw


@pytest.mark.parametrize(("results", "relayed"), [
    ((f"{OURS}; spf=pass smtp.mailfrom=example.com; dmarc=pass header.from=example.com",), True),
    ((f"{OURS}; spf=fail smtp.mailfrom=evil.example; dmarc=fail (p=reject) header.from=example.com",), False),
    # Written by the sender with our id, below the one our MTA added on top: only the topmost counts.
    ((f"{OURS}; dmarc=pass header.from=example.com", f"{OURS}; dmarc=fail header.from=example.com"), True),
    # Another server's verdict is not ours to trust.
    (("mx.elsewhere.example; dmarc=fail header.from=example.com",), True),
    ((), True),
], ids=["pass", "fail", "forged-below", "other-authserv", "none"])
def test_an_agent_reply_failing_dmarc_at_our_mta_is_quarantined(desk: Desk, store, results, relayed) -> None:
    got = open_conversation(desk)
    to = got["alice"]["Reply-To"].addresses[0].addr_spec
    desk.send(with_results(reply_text("alice@example.com", got["alice"], "Hi Anne, try turning it off and on."),
                           *results), to, "alice@example.com")
    assert bool(desk.to("anne@customer.example", desk.take())) is relayed
    with store.reading() as tx:
        refused = tx.exec(select(RawMessage).where(RawMessage.state == RawState.QUARANTINED)).all()
    assert (refused == []) is relayed
    if not relayed:
        assert "DMARC fail" in refused[0].reason and refused[0].stage == "authenticate"


def test_without_an_authserv_id_no_header_is_trusted() -> None:
    headers = (("Authentication-Results", f"{OURS}; dmarc=fail header.from=example.com"),)
    assert dmarc_failure(headers, "") == ""
    assert "DMARC fail" in dmarc_failure(headers, OURS)
    assert dmarc_failure((("Authentication-Results", "garbage ;;; ="),), OURS) == ""


def test_where_our_mta_checks_dmarc_another_domains_envelope_tells_nobody(desk: Desk) -> None:
    got = open_conversation(desk)
    to = got["alice"]["Reply-To"].addresses[0].addr_spec
    passed = f"{OURS}; dmarc=pass header.from=example.com"
    desk.send(with_results(reply_text("alice@example.com", got["alice"], "Hi Anne, try turning it off and on."),
                           passed), to, "alice=example.com@srs.forwarder.example")
    mails = desk.take()
    assert desk.to("anne@customer.example", mails) and desk.to("alice@example.com", mails) == []


@pytest.mark.parametrize("from_line", ["", "From: Alice Example\r\n"], ids=["no-from", "bare-name"])
def test_mail_to_an_agents_address_with_no_from_address_is_refused_whatever_its_envelope(desk: Desk, store,
                                                                                       from_line: str) -> None:
    # DMARC judges the From; with none, only the envelope would name alice, and anyone can write that.
    got = open_conversation(desk)
    to = got["alice"]["Reply-To"].addresses[0].addr_spec
    raw = reply_text("alice@example.com", got["alice"], "Hi Anne, pay here: http://evil.example/")
    desk.send(raw.replace(b"From: alice@example.com\r\n", from_line.encode()), to, "alice@example.com")
    assert desk.take() == [], "nothing relayed, nobody told"
    with store.reading() as tx:
        refused = tx.exec(select(RawMessage).where(RawMessage.state == RawState.QUARANTINED)).one()
    assert "envelope names agent alice@example.com" in refused.reason
