from gateway.agents.roster import AgentView, find_agent
from gateway.agents.routing import notification_recipients
from gateway.config import Settings, replace

ALICE = AgentView(1, "alice@example.com", "Alice Smith", 1)
BOB = AgentView(2, "bob@example.com", "Bob", 2)
ROSTER = (ALICE, BOB)


def test_every_agent_is_notified_when_the_channel_names_nobody() -> None:
    assert notification_recipients("support@example.com", False, None, ROSTER, Settings()) == (
        "alice@example.com", "bob@example.com")


def test_a_channel_can_name_its_agents_or_a_list() -> None:
    settings = replace(Settings(), mail={"addresses": ("support@example.com", "billing@example.com")},
                       channels={"notify": {"billing@example.com": ("billing-team@example.com",)}})
    lists = frozenset({"billing-team@example.com"})
    assert notification_recipients("billing@example.com", False, None, ROSTER, settings, lists) == (
        "billing-team@example.com",)


def test_a_removed_agent_still_named_by_a_channel_is_not_notified() -> None:
    settings = replace(Settings(), channels={"notify": {"support@example.com": ("carol@example.com",
                                                                                 "bob@example.com")}})
    assert notification_recipients("support@example.com", False, None, ROSTER, settings) == ("bob@example.com",)


def test_the_assignee_alone_is_notified() -> None:
    assert notification_recipients("support@example.com", False, BOB, ROSTER, Settings()) == ("bob@example.com",)


def test_partners_go_straight_to_tier_two() -> None:
    settings = replace(Settings(), partners={"tier": 2})
    assert notification_recipients("support@example.com", True, None, ROSTER, settings) == ("bob@example.com",)


def test_assign_finds_an_agent_by_first_name_local_part_or_me() -> None:
    assert find_agent("alice", BOB, ROSTER) == ALICE
    assert find_agent("Bob", ALICE, ROSTER) == BOB
    assert find_agent("me", ALICE, ROSTER) == ALICE
    assert "no agent by that name" in find_agent("carol", ALICE, ROSTER)  # type: ignore[operator]
