"""The first rule: nothing is ever sent in answer to a machine (RFC 3834)."""

from gateway.decision import Context, Decision


def stop_machine_mail(ctx: Context) -> Decision:
    """Bounces, auto-replies, list and bulk mail are recorded and answered by nothing."""
    return Decision(final=True) if ctx.sender.is_machine else Decision()
