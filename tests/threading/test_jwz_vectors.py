"""Jamie Zawinski's threading vectors (via MailKit): every message kept, conversations as the trees say.

A conversation is a whole thread, so each top-level tree of the expected output must be exactly one
conversation. Two documented differences: messages in pure reference loops are absent from the expected
trees but must still be kept by a gateway (they are, in one conversation), and roots that JWZ merges only by
subject are merged by us only when they come from the same sender (here they do)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.helpers import CORPORA, conversations, deliver, make_mail, messages

VECTORS = CORPORA / "jwz-threading-vectors" / "jwz_threading_vectors.json"


def load_case(name: str) -> dict:
    if not VECTORS.exists():
        pytest.skip("../shared/corpora/jwz-threading-vectors is not present")
    return next(c for c in json.loads(VECTORS.read_text())["cases"] if c["name"] == name)


def expected_groups(tree: str) -> list[Counter[str]]:
    """The subjects of each top-level tree, as multisets ('dummy' placeholders left out)."""
    groups: list[Counter[str]] = []
    for line in tree.splitlines():
        if not line.startswith(" "):
            groups.append(Counter())
        if line.strip() != "dummy":
            groups[-1][line.strip()] += 1
    return [g for g in groups if g]


def thread_case(processor, case: dict) -> list[Counter[str]]:
    for m in case["messages"]:
        # Distinct bodies, so that two messages under one Message-ID are two messages (both kept).
        raw = make_mail(subject=m["subject"], message_id=m["message_id"], body=f"message {m['index']}\n",
                        References=" ".join(m["references"]) or None)
        deliver(processor, raw)
    store = processor.rt.store
    by_conversation: dict[int, Counter[str]] = {c.id: Counter() for c in conversations(store)}
    for message in messages(store):
        if message.direction == "in":
            by_conversation[message.conversation_id][message.subject] += 1
    return list(by_conversation.values())


def test_jwz_references_every_message_is_kept_once_per_copy(processor, store):
    case = load_case("references_jwz")
    thread_case(processor, case)
    kept = Counter(m.subject for m in messages(store) if m.direction == "in")
    assert kept == Counter(m["subject"] for m in case["messages"])


def test_jwz_references_each_expected_tree_is_one_conversation(processor, store):
    case = load_case("references_jwz")
    ours = thread_case(processor, case)
    loops = {"Loop1", "Loop2", "Loop3", "Loop7", "Loop8", "Loop10"}
    expected = expected_groups(case["expected_tree"])
    # The pure loops are missing from the expected output; we keep them, as one conversation per loop.
    assert sorted(map(sorted, (g for g in ours if not set(g) <= loops)), key=str) == sorted(
        map(sorted, expected), key=str)
    assert sorted(sorted(g.elements()) for g in ours if set(g) <= loops) == [
        ["Loop1", "Loop2", "Loop3"], ["Loop10", "Loop7", "Loop8", "Loop8"]]


def test_jwz_ordered_subject_is_one_conversation(processor, store):
    ours = thread_case(processor, load_case("ordered_subject"))
    assert len(ours) == 1 and sum(ours[0].values()) == 5
