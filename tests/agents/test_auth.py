from gateway.agents.auth import AgentClaim, authenticate
from gateway.reply_token import agent_address, reply_address

SECRET = "s3cret"
AGENTS = frozenset({"alice@example.com", "bob@example.com"})


def claim(sender: str, to: str, is_agent: bool = True) -> AgentClaim | None:
    return authenticate(sender, is_agent, [to], SECRET, AGENTS, frozenset())


def test_the_agents_own_token_from_their_own_address_is_accepted() -> None:
    to = agent_address(SECRET, "support@example.com", "K7Q2M9XA", "alice@example.com")
    assert claim("alice@example.com", to) == AgentClaim(agent="alice@example.com", ref="K7Q2M9XA")


def test_the_note_address_is_recognised() -> None:
    to = agent_address(SECRET, "support@example.com", "K7Q2M9XA", "alice@example.com", note=True)
    assert to.startswith("note+") and claim("alice@example.com", to).note  # type: ignore[union-attr]


def test_another_agents_token_is_refused() -> None:
    to = agent_address(SECRET, "support@example.com", "K7Q2M9XA", "bob@example.com")
    assert "used bob@example.com's reply address" in claim("alice@example.com", to).refusal  # type: ignore[union-attr]


def test_a_spoofed_from_on_an_agent_token_is_refused() -> None:
    to = agent_address(SECRET, "support@example.com", "K7Q2M9XA", "alice@example.com")
    refused = claim("mallory@evil.example", to, is_agent=False)
    assert refused is not None and "alice@example.com's reply address" in refused.refusal


def test_a_token_moved_to_another_conversation_is_refused() -> None:
    to = agent_address(SECRET, "support@example.com", "K7Q2M9XA", "alice@example.com")
    moved = to.replace("k7q2m9xa", "b3b3b3b3")
    assert claim("alice@example.com", moved).refusal  # type: ignore[union-attr]


def test_an_agent_writing_to_the_customers_address_is_refused() -> None:
    to = reply_address(SECRET, "support@example.com", "K7Q2M9XA")
    assert "customer's reply address" in claim("alice@example.com", to).refusal  # type: ignore[union-attr]


def test_a_customer_writing_to_their_own_token_is_no_agent_business() -> None:
    to = reply_address(SECRET, "support@example.com", "K7Q2M9XA")
    assert claim("anne@customer.example", to, is_agent=False) is None


def test_a_customer_writing_to_a_mangled_reply_address_is_no_agent_business() -> None:
    # A tag that verifies for no agent is plain support@ (the secret changed, a client mangled it): the mail is
    # threaded by its other signals, each with its stranger guard, not held in quarantine.
    to = reply_address(SECRET, "support@example.com", "K7Q2M9XA")
    assert claim("anne@customer.example", to[:-len("@example.com") - 2] + "zz@example.com", is_agent=False) is None
    assert claim("anne@customer.example", reply_address("rotated", "support@example.com", "K7Q2M9XA"),
                 is_agent=False) is None


def test_a_list_members_reply_to_the_lists_notification_is_theirs() -> None:
    to = agent_address(SECRET, "support@example.com", "K7Q2M9XA", "team@example.com")
    accepted = authenticate("bob@example.com", True, [to], SECRET, AGENTS, frozenset({"team@example.com"}))
    assert accepted == AgentClaim(agent="bob@example.com", ref="K7Q2M9XA")
