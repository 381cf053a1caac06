"""The rule for a customer's mail that answers our survey with a number."""

from __future__ import annotations

from gateway.actions import RecordRating
from gateway.decision import Context, Decision


def record_survey_reply(ctx: Context) -> Decision:
    """Keep the rating and comment; nothing else happens (no reopen, no agent is notified)."""
    reply = ctx.survey_reply
    if reply is None or not ctx.sender.is_customer:
        return Decision()
    return Decision(actions=(RecordRating(reply.survey_id, reply.rating, reply.comment),), final=True)
