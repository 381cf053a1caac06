"""Decide whether a new customer conversation gets its one acknowledgement."""

from gateway.actions import SendAcknowledgement
from gateway.decision import Context, Decision


def acknowledge(ctx: Context) -> Decision:
    """Acknowledge a person's new conversation, once per conversation."""
    if not ctx.sender.is_customer or not ctx.sender.address or not ctx.conversation.is_new:
        return Decision()
    return Decision(actions=(SendAcknowledgement(),))
