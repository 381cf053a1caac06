"""Before an import: people of our own domain who answered outsiders in the archive but are not agents.

Their replies would be taken for customers' mail, each opening a conversation of its own, and an import is not
undone by adding the agents afterwards; so the import asks for them first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

from gateway.autosubmitted import is_machine_address
from gateway.classify import base_address

_HEADERS = BytesHeaderParser(policy=compat32)


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


def unlisted_agents(raws: Iterable[bytes], ours: frozenset[str], known: frozenset[str]) -> Counter[str]:
    """How many messages each sender at one of our support addresses' domains wrote to someone outside them,
    for senders that are neither `ours` (support addresses) nor `known` (agents, lists) nor a machine."""
    domains = {_domain(a) for a in ours}
    found: Counter[str] = Counter()
    for raw in raws:
        headers = _HEADERS.parsebytes(raw)
        senders = [a.lower() for _, a in getaddresses(headers.get_all("From", [])) if "@" in a]
        if len(senders) != 1:
            continue
        sender = senders[0]
        if _domain(sender) not in domains or base_address(sender) in ours or sender in known or (
                is_machine_address(sender)):
            continue
        recipients = [a.lower() for _, a in getaddresses(headers.get_all("To", []) + headers.get_all("Cc", []))]
        if any("@" in a and _domain(a) not in domains for a in recipients):
            found[sender] += 1
    return found
