"""Before an import: the agents an archive shows who are not agents here.

Those our own export names (as the author of an answer or a note, or as assignee), and people of our own domain
who answered outsiders in a mailbox. Their replies would be taken for customers' mail, each opening a conversation
of its own, and an import is not undone by adding the agents afterwards; so the import asks for them first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

from gateway.archive.headers import read_hints
from gateway.autosubmitted import is_machine_address
from gateway.classify import SenderKind, base_address
from gateway.outbound.agent_mail import AGENT_KINDS

_HEADERS = BytesHeaderParser(policy=compat32)


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


def unlisted_agents(raws: Iterable[bytes], ours: frozenset[str], known: frozenset[str]) -> Counter[str]:
    """How many messages name each agent who is neither `ours` (support addresses) nor `known` (agents, lists):
    by our export's headers, or as a sender at our domains writing to someone outside them (not a machine)."""
    domains = {_domain(a) for a in ours}
    found: Counter[str] = Counter()
    for raw in raws:
        headers = _HEADERS.parsebytes(raw)
        senders = [a.lower() for _, a in getaddresses(headers.get_all("From", [])) if "@" in a]
        sender = senders[0] if len(senders) == 1 else ""
        hints = read_hints(lambda name: str(headers.get(name, "")))
        # Mail we sent to an agent names them too (a notification), but only as its reader.
        named = {a for a in (hints.agent if hints.kind not in AGENT_KINDS else "", hints.assignee) if a}
        if hints.kind == SenderKind.AGENT and sender:
            named.add(sender)
        recipients = [a.lower() for _, a in getaddresses(headers.get_all("To", []) + headers.get_all("Cc", []))]
        if sender and _domain(sender) in domains and not is_machine_address(sender) and any(
                "@" in a and _domain(a) not in domains for a in recipients):
            named.add(sender)
        for agent in named:
            if base_address(agent) not in ours and agent not in known:
                found[agent] += 1
    return found
