"""The rule for an agent's mail: commands, notes, collisions, and what (if anything) the customer gets."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

from gateway.actions import (Action, AddNote, CloseHeld, FlagSender, HoldReply, RelayReply, TellAgent,
                             TellColleagues, UpdateConversation)
from gateway.agents.collision import must_hold
from gateway.agents.commands import Commands, parse_commands, without_command_lines
from gateway.agents.roster import find_agent
from gateway.agents.saved_replies import render_saved_reply
from gateway.decision import AgentMail, Context, Decision
from gateway.greeting import greeting_name
from gateway.models import ScheduledState, Status

# Lines only mail to agents contains: finding one in what we would relay means the cut failed.
INTERNAL_SIGNS = tuple(re.compile(p, re.MULTILINE) for p in (
    r"Reply above this line to answer the customer", r"^Commands: start your reply with #note",
    r"^Conversation [A-Z2-9]{8} · ", r"has \d+ earlier conversations?:$", r"^PARTNER\b.*is with a partner\.$",
    r": first conversation with us\.$", r"^Nothing was sent to the customer on conversation",
    r"has not been sent: .* answered the customer", r"^Your held reply on conversation",
    r"answered the customer on conversation [A-Z2-9]{8}, so you need not"))
_STATUS = {"close": Status.RESOLVED, "resolve": Status.RESOLVED, "pending": Status.PENDING, "open": Status.OPEN}


def leaks_internal(text: str, html: str = "") -> bool:
    visible = text + "\n" + (BeautifulSoup(html, "html.parser").get_text("\n") if html else "")
    visible = "\n".join(line.strip(" >\u00a0\ufeff") for line in visible.splitlines())
    return any(sign.search(visible) for sign in INTERNAL_SIGNS)


def _update(ctx: Context, mail: AgentMail, parsed: Commands) -> tuple[UpdateConversation | None, list[str]]:
    errors: list[str] = []
    status = assign = priority = None
    add: list[str] = []
    remove: list[str] = []
    for command in parsed.commands:
        if command.name in _STATUS:
            status = _STATUS[command.name]
        elif command.name == "assign":
            found = find_agent(command.argument, mail.agent, ctx.roster)
            if isinstance(found, str):
                errors.append(found)
            else:
                assign = found
        elif command.name == "tag":
            add.append(command.argument)
        elif command.name == "untag":
            remove.append(command.argument)
        elif command.name == "priority":
            priority = command.argument
        elif command.name in ("send", "drop") and mail.held is None:
            errors.append(f"#{command.name}: you have no held reply on this conversation")
        elif command.name == "template" and command.argument.lower() not in ctx.saved_replies:
            known = ", ".join(sorted(ctx.saved_replies)) or "none are configured"
            errors.append(f"#template {command.argument}: no saved reply by that name (saved replies: {known})")
    update = UpdateConversation(status, assign, tuple(add), tuple(remove), priority, parsed.has("nosurvey"))
    return (update if update != UpdateConversation() else None), errors


def _saved_reply_name(parsed: Commands) -> str:
    return next((c.argument.lower() for c in parsed.commands if c.name == "template"), "")


def _saved_reply(ctx: Context, mail: AgentMail, parsed: Commands) -> tuple[str, str]:
    """(text, error) of the #template the agent asked for, personalised."""
    name = _saved_reply_name(parsed)
    if name not in ctx.saved_replies:
        return "", ""  # No #template, or an unknown one (_update reports that).
    variables = {"customer_name": greeting_name(ctx.conversation.customer_name), "agent_name": mail.agent.first_name,
                 "ref": ctx.conversation.ref, "subject": ctx.conversation.subject}
    try:
        return render_saved_reply(ctx.saved_replies[name], variables), ""
    except ValueError as exc:
        return "", f"#template {name}: the saved reply is broken ({exc}); tell an admin"


def _not_understood(ctx: Context, mail: AgentMail, errors: list[str]) -> Decision:
    """Nothing goes to the customer; the agent hears why, at most once per interval."""
    recent = mail.last_notice_at is not None and ctx.now - mail.last_notice_at < ctx.settings.agents.error_reply_interval
    tell = () if recent else (TellAgent(mail.agent, "not_understood", tuple(errors)),)
    return Decision(actions=tell, final=True)


def handle_agent_mail(ctx: Context) -> Decision:
    """An agent's reply: commands change state, #note stays internal, the rest goes to the customer."""
    mail = ctx.agent_mail
    if mail is None:
        return Decision()
    decision = _answer(ctx, mail)
    if mail.foreign_envelope:
        flag = FlagSender(mail.agent, mail.foreign_envelope, tell=not mail.foreign_envelope_known)
        return Decision(actions=(*decision.actions, flag), final=True)
    return decision


def _answer(ctx: Context, mail: AgentMail) -> Decision:
    parsed = parse_commands(mail.reply.text)
    update, errors = _update(ctx, mail, parsed)
    template_text, template_error = _saved_reply(ctx, mail, parsed)
    errors.extend(parsed.errors)
    if template_error:
        errors.append(template_error)
    if errors:
        return _not_understood(ctx, mail, errors)
    actions: list[Action] = [update] if update else []
    body = "\n\n".join(t for t in (template_text, parsed.body) if t.strip())
    if mail.to_note_address or parsed.has("note"):
        if body:
            actions.append(AddNote(mail.agent, body, mail.colleagues))
        return Decision(actions=tuple(actions), final=True)
    if mail.held is not None and (parsed.has("send") or parsed.has("drop")):
        if body:
            return _not_understood(ctx, mail, ["write #send or #drop alone; to change the held reply, #drop it "
                                               "and reply again"])
        held = mail.held
        if parsed.has("send"):
            actions += [CloseHeld(held.id, ScheduledState.DONE), RelayReply(mail.agent, held.text, held.html,
                                                                               held.message_pk)]
        else:
            actions.append(CloseHeld(held.id, ScheduledState.CANCELLED))
        return Decision(actions=tuple(actions), final=True)
    if not body and not mail.has_files:
        return Decision(actions=tuple(actions), final=True)  # Only commands: nothing for the customer.
    if not ctx.conversation.customer_address:
        return Decision(actions=(*actions, TellAgent(mail.agent, "not_relayed", (
            "the customer's mail gave no address to answer (no From address, no envelope sender)",))), final=True)
    if not ctx.conversation.customer_address.isascii():
        return Decision(actions=(*actions, TellAgent(mail.agent, "not_relayed", (
            f"the customer's address {ctx.conversation.customer_address} needs SMTPUTF8, which we do not send yet; "
            "write to them from your own mail client",))), final=True)
    html = without_command_lines(mail.reply.html, parsed.lines()) if not template_text else ""
    if leaks_internal(body, html):
        return Decision(actions=(*actions, TellAgent(mail.agent, "not_relayed")), final=True)
    colleague = mail.colleague_reply
    if must_hold(colleague, mail.seen_at, ctx.now, ctx.settings.agents.collision_window):
        assert colleague is not None
        actions.append(HoldReply(mail.agent, mail.message_pk, colleague, body, html))
        return Decision(actions=tuple(actions), final=True)
    saved = _saved_reply_name(parsed) if template_text else ""
    actions.append(RelayReply(mail.agent, body, html, mail.message_pk, saved_reply=saved))
    if mail.colleagues:
        actions.append(TellColleagues(mail.colleagues, mail.agent, body))
    return Decision(actions=tuple(actions), final=True)
