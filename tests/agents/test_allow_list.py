"""An admin who allow-lists the company's own domain must not turn an agent's out-of-office into a reply."""

from __future__ import annotations

import pytest

from gateway.config import replace
from tests.helpers import make_mail


@pytest.fixture
def desk_settings(desk_settings):
    # e.g. so that an internal ticketing tool's mail, which sets Auto-Submitted, counts as a person's.
    return replace(desk_settings, classify={"allow": ("@example.com",)})


@pytest.mark.integration
def test_an_allow_listed_agents_out_of_office_is_never_relayed_to_the_customer(desk):
    desk.customer_writes()
    notification = desk.to("alice@example.com", desk.take())[0]
    token_address = notification["Reply-To"].addresses[0].addr_spec
    # Alice's vacation responder answers the notification at its Reply-To, her agent token address.
    ooo = make_mail(sender="Alice <alice@example.com>", to=token_address,
                    subject=f"Automatic reply: {notification['Subject']}", message_id="<ooo-1@example.com>",
                    body="I am out of the office until Monday and will answer then.\n",
                    Auto_Submitted="auto-replied", In_Reply_To=notification["Message-ID"])
    desk.send(ooo, token_address, "")
    assert desk.to("anne@customer.example", desk.take()) == []
