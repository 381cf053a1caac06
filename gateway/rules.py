"""Stage 5: the ordered rules, and decide() which runs them over one message in context."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from gateway.actions import Action
from gateway.agents.reply import handle_agent_mail
from gateway.agents.routing import notify_agents
from gateway.autoreply.rule import acknowledge
from gateway.decision import Context, Rule
from gateway.imported import stop_imported_mail
from gateway.stop_machine_mail import stop_machine_mail
from gateway.surveys.reply_rule import record_survey_reply

log = logging.getLogger(__name__)

RULES: tuple[Rule, ...] = (
    stop_imported_mail,  # History brought in by `gateway import` sends nothing: first, and final.
    stop_machine_mail,  # Never answer a machine: final.
    handle_agent_mail,  # An agent's mail is theirs alone to act on: final.
    record_survey_reply,  # A rating in reply to our survey is an answer, not a request: final.
    notify_agents,
    acknowledge,
)


def decide(ctx: Context, rules: Sequence[Rule] = RULES) -> list[Action]:
    """Run the rules in order; a final decision stops the chain."""
    actions: list[Action] = []
    for rule in rules:
        decision = rule(ctx)
        actions.extend(decision.actions)
        if decision.final:
            log.info("mid=%s conv=%s decided by %s: %s", ctx.message.message_id or "-", ctx.conversation.ref,
                     rule.__name__, ", ".join(type(a).__name__ for a in actions) or "nothing to do")
            break
    return actions
