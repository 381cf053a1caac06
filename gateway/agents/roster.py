"""The agents as rules see them, and finding one by the name an agent typed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgentView:
    id: int
    address: str
    name: str
    tier: int = 1

    @property
    def first_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.address.partition("@")[0]


def find_agent(name: str, me: AgentView, roster: tuple[AgentView, ...]) -> AgentView | str:
    """The agent `#assign NAME` means (address, local part or first name), or why there is none."""
    wanted = name.lower().strip()
    if wanted == "me":
        return me
    matches = [a for a in roster if wanted in (a.address, a.address.partition("@")[0], a.first_name.lower(),
                                               a.name.lower())]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        known = ", ".join(sorted(a.address.partition("@")[0] for a in roster))
        return f"#assign {name}: no agent by that name (agents: {known})"
    return f"#assign {name}: more than one agent by that name; use the address"
