"""Reading a rating from a customer's reply to the survey mail: a number first, then any comment."""

from __future__ import annotations

import pytest

from gateway.surveys.mail_rating import read_rating

CASES = [
    ("5", 5, (5, "")),
    ("4!", 5, (4, "")),
    ("4/5", 5, (4, "")),
    ("4 out of 5 - quick and friendly", 5, (4, "quick and friendly")),
    ("[5] great", 5, (5, "great")),
    ("**3**\n\nOkay, but it took two days.", 5, (3, "Okay, but it took two days.")),
    ("5 stars, thank you\nAnne", 5, (5, "thank you\nAnne")),
    ("4 von 5 Sternen, danke", 5, (4, "danke")),
    ("  2 - the first answer did not help\n", 5, (2, "the first answer did not help")),
    ("3", 3, (3, "")),
]
NOT_RATINGS = [("4.5", 5), ("45", 5), ("10", 5), ("0", 5), ("6", 5), ("4", 3), ("Great, thanks!", 5),
               ("It broke again. 5 minutes after you closed it.", 5), ("", 5)]


@pytest.mark.parametrize(("text", "scale", "expected"), CASES, ids=[c[0].split("\n")[0] for c in CASES])
def test_a_reply_that_starts_with_a_number_is_a_rating(text, scale, expected) -> None:
    assert read_rating(text, scale) == expected


@pytest.mark.parametrize(("text", "scale"), NOT_RATINGS, ids=[f"{t!r} of {s}" for t, s in NOT_RATINGS])
def test_anything_else_is_not_a_rating(text, scale) -> None:
    assert read_rating(text, scale) is None
