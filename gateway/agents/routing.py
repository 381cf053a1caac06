"""Who is told about a customer's message: the assignee, partner-tier agents, or the channel's agents."""

from __future__ import annotations

from gateway.actions import NotifyAgents
from gateway.agents.roster import AgentView
from gateway.config import Settings
from gateway.decision import Context, Decision


def notification_recipients(channel: str, partner: bool, assignee: AgentView | None,
                            roster: tuple[AgentView, ...], settings: Settings,
                            lists: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Agent (or list) addresses to notify, without duplicates, in a stable order."""
    if assignee is not None:
        return (assignee.address,)
    if partner and settings.partners.tier > 0:
        senior = tuple(a.address for a in roster if a.tier >= settings.partners.tier)
        if senior:
            return senior
    configured = settings.channels.notify.get(channel.lower())
    if configured:
        # A removed agent still named in the config is skipped: they no longer read customers' mail.
        current = {a.address for a in roster} | lists
        return tuple(a for a in dict.fromkeys(configured) if a in current)
    return tuple(a.address for a in roster)


def notify_agents(ctx: Context) -> Decision:
    """Every message from a customer goes to the agents who should see it."""
    if not ctx.sender.is_customer:
        return Decision()
    view = ctx.conversation
    recipients = notification_recipients(view.channel, view.partner, view.assignee, ctx.roster, ctx.settings,
                                         ctx.lists)
    return Decision(actions=(NotifyAgents(recipients),) if recipients else ())
