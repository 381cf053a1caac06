"""Whether mail that claims to come from an agent really does: token and From must name the same agent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import authres

from gateway.reply_token import read_token


@dataclass(frozen=True)
class AgentClaim:
    """An agent's mail, proven (`agent` and `ref` set) or refused (`refusal` says why; `ref` too, when a valid
    token named the conversation, so the agent can be told there)."""

    agent: str = ""
    ref: str = ""
    note: bool = False
    refusal: str = ""


def authenticate(sender: str, is_agent: bool, addresses: Iterable[str], secret: str,
                 agents: frozenset[str], lists: frozenset[str]) -> AgentClaim | None:
    """None when the mail is no agent's business (a customer writing to a customer address, or to a tag that
    verifies for no agent)."""
    tokens = [t for t in (read_token(a) for a in addresses) if t is not None]
    if is_agent:
        for token in tokens:
            # A notification sent to a list address is answered by one of its members, from their own address.
            if token.is_agent_token(secret, sender) or any(token.is_agent_token(secret, lst) for lst in lists):
                return AgentClaim(agent=sender, ref=token.ref, note=token.local == "note")
        # The ref comes with a refusal only where a valid token names it: the agent is told there.
        owned = next(((t, a) for t in tokens for a in sorted(agents | lists) if t.is_agent_token(secret, a)), None)
        if owned is not None:
            return AgentClaim(ref=owned[0].ref, refusal=f"agent {sender} used {owned[1]}'s reply address; each "
                                                        "agent answers from the notification they were sent")
        if customers := [t for t in tokens if t.is_customer_token(secret)]:
            return AgentClaim(ref=customers[0].ref, refusal=f"agent {sender} wrote to the customer's reply address; "
                                                            "agents answer from the notification they were sent")
        return AgentClaim(refusal=f"mail from agent {sender} without their reply token "
                                  "(a forwarded notification, a forged token, or new mail from an agent's address)")
    for token in tokens:
        owner = next((a for a in sorted(agents | lists) if token.is_agent_token(secret, a)), None)
        if owner is not None and owner == sender:  # Their own address, yet not an agent (is_agent): removed.
            return AgentClaim(refusal=f"{sender} is no longer an agent; their old reply address relays nothing")
        if owner is not None:
            return AgentClaim(refusal=f"sent to {owner}'s reply address from {sender or 'an unknown sender'}, "
                                      "who is not that agent")
    # `agents` holds removed agents too, so only a tag that verifies for nobody gets here (a client mangled it,
    # the secret changed). It proves nothing, and so takes nothing away: the mail is what it would be sent to plain
    # support@, threaded by its other signals, each with its own stranger guard. Refusing it would only hold a
    # customer's reply in quarantine.
    return None


def foreign_envelope(agent: str, envelope_from: str | None) -> str:
    """`envelope_from` when its domain is neither the agent's nor a parent or subdomain of it; else ""."""
    if not envelope_from or "@" not in envelope_from:
        return ""
    mine, theirs = agent.rpartition("@")[2].lower(), envelope_from.rpartition("@")[2].lower()
    if theirs == mine or theirs.endswith("." + mine) or mine.endswith("." + theirs):
        return ""
    return envelope_from


def dmarc_failure(headers: Iterable[tuple[str, str]], authserv_id: str) -> str:
    """Why our MTA in front says this mail failed DMARC ("" when it passed, said nothing, or we trust no one).
    Only the topmost Authentication-Results with our authserv-id counts: the MTA adds it above anything the
    sender wrote (and should remove forged ones with its id)."""
    if not authserv_id:
        return ""
    for name, value in headers:
        if name.lower() != "authentication-results":
            continue
        try:
            parsed = authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {value}")
        except Exception:  # authres raises its own syntax errors; an unreadable header proves nothing.
            continue
        if str(parsed.authserv_id).lower() != authserv_id.lower():
            continue
        verdict = next((str(r.result).lower() for r in parsed.results if str(r.method).lower() == "dmarc"), "")
        return f"{authserv_id} says DMARC {verdict}: the From address may be forged" if verdict == "fail" else ""
    return ""
