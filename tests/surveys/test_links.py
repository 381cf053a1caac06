"""The signed links in a survey: bound to the conversation, the rating and an expiry; anything else is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.surveys.links import (RatingLink, optout_token, rating_token, read_optout_token, read_rating_token)

SECRET = "test-secret"
EXPIRES = datetime(2026, 3, 24, 9, 30, tzinfo=UTC)


def test_a_rating_link_names_its_conversation_rating_and_expiry() -> None:
    token = rating_token(SECRET, "K7Q2M9XA", 4, EXPIRES)
    assert read_rating_token(SECRET, token) == RatingLink("K7Q2M9XA", 4, EXPIRES)
    assert read_rating_token(SECRET, token.upper()) == RatingLink("K7Q2M9XA", 4, EXPIRES), "case-blind, like URLs"


def tampered(token: str, part: int, value: str) -> str:
    parts = token.split(".")
    parts[part] = value
    return ".".join(parts)


@pytest.mark.parametrize("change", [
    lambda t: tampered(t, 1, "5"),  # another rating
    lambda t: tampered(t, 0, "qw3rt5yz"),  # another conversation
    lambda t: tampered(t, 2, "zzzzzz"),  # a later expiry
    lambda t: t[:-1] + ("a" if t[-1] != "a" else "b"),  # a guessed mac
    lambda t: t[:-4],  # cut short by a mail client
    lambda t: "",
], ids=["rating", "conversation", "expiry", "mac", "truncated", "empty"])
def test_a_changed_or_cut_link_is_refused(change) -> None:
    assert read_rating_token(SECRET, change(rating_token(SECRET, "K7Q2M9XA", 4, EXPIRES))) is None


def test_a_link_signed_with_another_secret_is_refused() -> None:
    assert read_rating_token(SECRET, rating_token("other-secret", "K7Q2M9XA", 4, EXPIRES)) is None
    assert read_optout_token(SECRET, optout_token("other-secret", "K7Q2M9XA")) is None


def test_the_opt_out_link_names_the_conversation_and_never_expires() -> None:
    token = optout_token(SECRET, "K7Q2M9XA")
    assert read_optout_token(SECRET, token) == "K7Q2M9XA"
    assert read_optout_token(SECRET, tampered(token, 0, "qw3rt5yz")) is None
    # A rating link is not an opt-out link, nor the other way round.
    assert read_optout_token(SECRET, rating_token(SECRET, "K7Q2M9XA", 4, EXPIRES)) is None
    assert read_rating_token(SECRET, token) is None
