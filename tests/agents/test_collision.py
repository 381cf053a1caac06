from datetime import UTC, datetime, timedelta

from gateway.agents.collision import ColleagueReply, must_hold

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)


def reply_at(minutes_ago: float) -> ColleagueReply:
    return ColleagueReply("Bob", "bob@example.com", NOW - timedelta(minutes=minutes_ago), "Try a restart.")


def test_a_colleagues_reply_the_agent_had_not_seen_holds_theirs() -> None:
    assert must_hold(reply_at(3), seen_at=NOW - timedelta(minutes=20), now=NOW, window=WINDOW)


def test_a_reply_the_agent_had_already_seen_does_not_hold() -> None:
    assert not must_hold(reply_at(3), seen_at=NOW - timedelta(minutes=1), now=NOW, window=WINDOW)


def test_an_old_colleague_reply_does_not_hold() -> None:
    assert not must_hold(reply_at(11), seen_at=NOW - timedelta(hours=1), now=NOW, window=WINDOW)


def test_no_colleague_reply_never_holds() -> None:
    assert not must_hold(None, seen_at=None, now=NOW, window=WINDOW)
