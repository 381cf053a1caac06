"""`gateway kb export REF --message ID OUT.md`: a good answer becomes a self-help article draft."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import select

from gateway.autoreply.article_draft import article_title, draft_article, slug
from gateway.cli.common import MAX_ID, ConfigOption, fail, open_store, settings_from
from gateway.cli.refs import RefArgument, find_conversation
from gateway.models import Message

app = typer.Typer(no_args_is_help=True, help="The knowledge base the acknowledgement suggests articles from.\n\n"
                                            "Example: gateway kb export K7Q2M9XA --message 12 reset-password.md")
# Only what the customer was sent as an agent's answer: an agent's own mail in may be an internal note.
_ANSWER = ("out", "agent_reply")
_NOT_ANSWERS = {("in", "customer"): "the customer's message",
                ("in", "agent"): "an agent's mail to the gateway (a note or commands)"}


@app.command("export")
def export(ref: RefArgument,
           out: Annotated[Path, typer.Argument(metavar="OUT.md", help="Where to write the draft, or - for standard "
                                                                      "output.")],
           message: Annotated[int, typer.Option(metavar="ID", max=MAX_ID, help="The answer: its number (#ID) in "
                                                                               "`gateway conversations show REF`.")],
           url: Annotated[str, typer.Option(help="Where the article will be published [default: \\[selfhelp] "
                                                 "knowledge_base/<title-slug>].", show_default=False)] = "",
           force: Annotated[bool, typer.Option(help="Overwrite OUT.md if it exists.")] = False,
           config: ConfigOption = None) -> None:
    """Draft a knowledge-base article from an agent's answer: Markdown with front matter (title from the subject,
    keywords from the tags), readable by the self-help index ([selfhelp] articles).

    Edit the draft (keywords decide when it is suggested), then put it in the articles folder.

    Example: gateway kb export K7Q2M9XA --message 12 articles/reset-password.md
    """
    settings = settings_from(config)
    if str(out) != "-" and out.exists() and not force:
        fail(f"{out} exists; choose another name, or pass --force to overwrite it", code=2)
    store = open_store(settings)
    with store.reading() as tx:
        conversation = find_conversation(tx, ref)
        answer = tx.exec(select(Message).where(Message.id == message,
                                               Message.conversation_id == conversation.id)).first()
    if answer is None:
        fail(f"{conversation.ref} has no message {message}; `gateway conversations show {conversation.ref}` numbers "
             "them (#ID)", code=2)
    if (answer.direction, answer.kind) != _ANSWER:
        what = _NOT_ANSWERS.get((answer.direction, answer.kind),
                                f"{answer.direction} {answer.kind.replace('_', ' ')} mail")
        fail(f"message {message} is {what}, not an answer the customer got; pick an agent reply from "
             f"`gateway conversations show {conversation.ref}`", code=2)
    base = url or settings.selfhelp.knowledge_base.rstrip("/")
    if not base:
        fail("the article needs the address it will be published at: pass --url, or set [selfhelp] "
             "knowledge_base", code=2)
    address = url or f"{base}/{slug(article_title(conversation.subject))}"
    text = draft_article(conversation.subject, answer.text, list(conversation.tags), address,
                         f"conversation {conversation.ref}, message {message}")
    if str(out) == "-":
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}; edit it, then put it in the [selfhelp] articles folder")
