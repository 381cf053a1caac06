"""`gateway templates list | show | edit | set | preview | diff | history | rollback | send-test | stats`."""

from __future__ import annotations

import difflib
import getpass
import json
import os
import shlex
import subprocess
import tempfile
from datetime import timedelta
from email.utils import make_msgid
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from gateway.cli.common import ConfigOption, JsonOption, fail, open_store, settings_from
from gateway.cli.output import console, table
from gateway.clock import utc_now
from gateway.config import Settings, is_plain_address
from gateway.errors import GatewayError
from gateway.models import TemplateVersion
from gateway.outbound.compose import Addressing, build
from gateway.outbound.outbox import enqueue
from gateway.store import Store
from gateway.templating import source as sources
from gateway.templating.catalog import UnknownTemplateError, base_of, catalog, info, shipped_variants
from gateway.templating.parts import Parts, from_file, to_file
from gateway.templating.preview import render_preview
from gateway.templating.render import Rendered
from gateway.templating.stats import saved_reply_usage, template_usage
from gateway.templating.validate import TemplateProblemError, validate

app = typer.Typer(no_args_is_help=True, help="Look at, change, test and roll back the mail templates.\n\n"
                                            "Example: gateway templates preview acknowledgement --language de")

NameArgument = Annotated[str, typer.Argument(
    help="A template, or a variant of one: acknowledgement, acknowledgement.beta, acknowledgement.de.")]
CommentOption = Annotated[str, typer.Option(help="Why, kept in `history`.")]
ConversationOption = Annotated[str, typer.Option("--conversation", help="Use this conversation's real values.")]
ChannelOption = Annotated[str, typer.Option(help="Pick the variant for this channel, e.g. beta@example.com.")]
LanguageOption = Annotated[str, typer.Option(help="Pick the variant for this language, e.g. de.")]


def _known(name: str) -> str:
    """The name, checked against the catalog: an unknown name is a usage error."""
    try:
        info(name)
    except UnknownTemplateError as exc:
        fail(str(exc), code=2)
    return name


def _author() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # No login name (a container without a passwd entry): save anonymously.
        return ""


def _refused(name: str, problems: list[str]) -> NoReturn:
    for problem in problems:
        typer.echo(f"error: {problem}", err=True)
    fail(f"{name} not saved ({len(problems)} problem{'s' if len(problems) != 1 else ''})")


def _save(store: Store, name: str, parts: Parts, comment: str) -> None:
    try:
        with store.transaction() as tx:
            row = sources.save(tx, name, parts, now=utc_now(), author=_author(), comment=comment)
    except TemplateProblemError as exc:
        _refused(name, exc.problems)
    except IntegrityError:  # Two admins saved the same template at once: the other one got this number.
        fail(f"{name} was saved by someone else at the same moment; look at `history` and try again")
    typer.echo(f"saved {name} version {row.version}; it is in use now")
    others = [v for v in shipped_variants(base_of(name)) if v != name]
    if others:
        typer.echo(f"note: {', '.join(others)} are separate templates; change them too if they should match")


@app.command("list")
def list_(config: ConfigOption = None, json_: JsonOption = False) -> None:
    """List the templates: who gets them, their variants, and the version in use.

    Example: gateway templates list --json
    """
    store = open_store(settings_from(config))
    with store.reading() as tx:
        saved = tx.exec(select(TemplateVersion.name).distinct()).all()
        rows = sources.latest_rows(tx, list(saved))
    versions = {name: row.version if row.text else 0 for name, row in rows.items()}
    entries = []
    for base, template in catalog().items():
        variants = sorted({*shipped_variants(base), *(n for n in saved if n != base and base_of(n) == base)})
        entries.append((template, versions.get(base, 0), [(v, versions.get(v, 0)) for v in variants]))
    if json_:
        for template, version, variants in entries:
            typer.echo(json.dumps({"name": template.name, "audience": template.audience, "version": version,
                                   "description": template.description,
                                   "variants": [{"name": n, "version": v} for n, v in variants]}))
        return
    table(("NAME", "FOR", "VARIANTS", "IN USE"),
          [(template.name, template.audience,
            ", ".join(n.removeprefix(f"{template.name}.") + (f" (v{v})" if v else "") for n, v in variants) or "-",
            f"v{version}" if version else "shipped") for template, version, variants in entries])


@app.command()
def show(name: NameArgument, config: ConfigOption = None, json_: JsonOption = False) -> None:
    """Show a template's subject, text and HTML as in use now, and where they come from.

    Example: gateway templates show acknowledgement.beta
    """
    template = info(_known(name))
    store = open_store(settings_from(config))
    with store.reading() as tx:
        found = sources.current(tx, name)
    if found is None:
        fail(f"{name} has no shipped files and no version in use; `gateway templates set {name} --file F` adds it")
    parts = found.parts
    if json_:
        typer.echo(json.dumps({"name": name, "source": found.origin, "version": found.version,
                               "audience": template.audience, "variables": dict(template.variables),
                               "subject": parts.subject, "text": parts.text, "html": parts.html}, ensure_ascii=False))
        return
    # The form `edit` opens and `set --file` reads, so `show NAME > F`, a change, and `set NAME --file F` just work.
    typer.echo(_editable(name, found), nl=False)


def _editable(name: str, found: sources.Source) -> str:
    template = info(name)
    header = [f"Template {name}, from {found.origin}.", "Edit the parts below their marker lines; lines above the "
              "first marker are ignored.", "Variables:"]
    header += [f"  {var}: {about}" for var, about in template.variables.items()]
    return to_file(found.parts, "\n".join(header))


def _run_editor(path: Path) -> None:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        code = subprocess.run([*shlex.split(editor), str(path)], check=False).returncode
    except OSError as exc:
        fail(f"cannot start the editor {editor!r}: {exc.strerror}; set $EDITOR")
    if code != 0:
        fail(f"the editor {editor!r} exited with {code}; nothing saved")


@app.command()
def edit(name: NameArgument, config: ConfigOption = None, comment: CommentOption = "") -> None:
    """Edit a template in $VISUAL or $EDITOR; it is checked before it is saved as a new version.

    Example: gateway templates edit acknowledgement.beta   (opens $VISUAL, else $EDITOR, else vi)
    """
    _known(name)
    store = open_store(settings_from(config))
    with store.reading() as tx:
        # A new variant starts from what its channel or language gets now: the base template.
        found = sources.current(tx, name) or sources.resolve(tx, base_of(name))
    content = _editable(name, found)
    with tempfile.TemporaryDirectory(prefix="gateway-template-") as folder:
        path = Path(folder) / f"{name.replace('/', '_')}.txt"
        while True:
            path.write_text(content, encoding="utf-8")
            _run_editor(path)
            content = path.read_text(encoding="utf-8")
            parts = from_file(content, found.parts)
            if parts == found.parts.normalised():
                typer.echo("no changes; nothing saved")
                return
            problems = validate(name, parts)
            if not problems:
                break
            for problem in problems:
                typer.echo(f"error: {problem}", err=True)
            if not typer.confirm("Edit again?", default=True, err=True):
                draft = Path(tempfile.mkstemp(prefix=f"gateway-{name.replace('/', '_')}-", suffix=".txt")[1])
                draft.write_text(content, encoding="utf-8")
                fail(f"{name} not saved; your draft is in {draft} (fix it, then `gateway templates set {name} "
                     f"--file {draft}`)")
    _save(store, name, parts, comment)


@app.command("set")
def set_(name: NameArgument, file: Annotated[Path, typer.Option("--file", "-f", help=(
             "The template in the form `edit` shows (marker lines), or a plain .j2 file: its text part."),
             exists=True, dir_okay=False, readable=True)],
         config: ConfigOption = None, comment: CommentOption = "") -> None:
    """Save a template from a file as a new version; it is checked first and refused with its problems.

    Example: gateway templates set acknowledgement --file acknowledgement.txt --comment "friendlier"
    """
    _known(name)
    try:
        content = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text; save it as UTF-8")
    store = open_store(settings_from(config))
    with store.reading() as tx:
        found = sources.current(tx, name) or sources.resolve(tx, base_of(name))
    parts = from_file(content, found.parts)
    if found.name == name and parts == found.parts.normalised():
        typer.echo(f"{name} is already exactly that; nothing saved")
        return
    _save(store, name, parts, comment or f"from {file.name}")


def _preview(tx: Session, settings: Settings, name: str, conversation: str, channel: str,
             language: str) -> tuple[Rendered, sources.Source]:
    try:
        return render_preview(tx, settings, name, conversation=conversation, channel=channel, language=language,
                              now=utc_now())
    except GatewayError:
        raise
    except Exception as exc:  # An admin's template that fails on these values: one line, not a traceback.
        fail(f"{name} does not render with these values: {type(exc).__name__}: {exc}")


@app.command()
def preview(name: NameArgument, config: ConfigOption = None, json_: JsonOption = False,
            conversation: ConversationOption = "", channel: ChannelOption = "",
            language: LanguageOption = "") -> None:
    """Render a template with a conversation's real values (or plausible samples): subject, text and HTML.

    Example: gateway templates preview acknowledgement --conversation K7Q2M9XA --language de
    """
    _known(name)
    settings = settings_from(config)
    store = open_store(settings)
    try:
        with store.reading() as tx:
            rendered, found = _preview(tx, settings, name, conversation, channel, language)
    except GatewayError as exc:
        fail(str(exc))
    values = f"conversation {conversation.upper()}" if conversation else "sample values"
    if json_:
        typer.echo(json.dumps({"template": rendered.name, "source": found.origin, "values": values,
                               "subject": rendered.subject, "text": rendered.text, "html": rendered.html},
                              ensure_ascii=False))
        return
    subject = rendered.subject or "(set by the gateway)"
    typer.echo(f"{rendered.name} ({found.origin}), with {values}\n\nSubject: {subject}\n\n{rendered.text.rstrip()}")
    typer.echo(f"\n----- html -----\n{rendered.html.rstrip()}" if rendered.html else "\n(no HTML part)")


def _version_of(value: str) -> int | None:
    """A version argument: a number, "shipped" (0) or "current" (None)."""
    if value.lower() == "current":
        return None
    if value.lower() == "shipped":
        return sources.SHIPPED_VERSION
    if not value.isdigit():
        fail(f"version {value!r}: give a number from `history`, shipped or current", code=2)
    return int(value)


@app.command()
def diff(name: NameArgument, config: ConfigOption = None,
         from_: Annotated[str, typer.Option("--from", help="A version number, shipped or current.")] = "shipped",
         to: Annotated[str, typer.Option("--to", help="A version number, shipped or current.")] = "current") -> None:
    """Show what changed between two versions as a unified diff (default: the shipped files against the one in use).

    Example: gateway templates diff acknowledgement --from 2 --to 3
    """
    _known(name)
    store = open_store(settings_from(config))
    texts: list[list[str]] = []
    with store.reading() as tx:
        for label, number in ((from_, _version_of(from_)), (to, _version_of(to))):
            found = sources.current(tx, name) if number is None else sources.version(tx, name, number)
            if found is None and number not in (None, sources.SHIPPED_VERSION):
                fail(f"{name} has no version {label}; `gateway templates history {name}` lists them")
            texts.append(to_file(found.parts if found else Parts()).splitlines(keepends=True))
    lines = list(difflib.unified_diff(texts[0], texts[1], f"{name} {from_}", f"{name} {to}"))
    typer.echo("".join(lines).rstrip("\n") if lines else f"no differences between {from_} and {to}")


@app.command()
def history(name: NameArgument, config: ConfigOption = None, json_: JsonOption = False) -> None:
    """List a template's saved versions, oldest first; version 0 is the shipped files.

    Example: gateway templates history acknowledgement
    """
    _known(name)
    store = open_store(settings_from(config))
    with store.reading() as tx:
        rows = sources.history(tx, name)
    # The newest saved version is in use (a rollback to the shipped files too); with none, the files are.
    entries = [{"version": 0, "saved": "", "author": "", "comment": "the shipped files",
                "in_use": not rows, "shipped": True}] if sources.shipped(name) else []
    entries += [{"version": r.version, "saved": r.created_at.isoformat(timespec="seconds"), "author": r.author,
                 "comment": r.comment, "in_use": r is rows[-1], "shipped": not r.text} for r in rows]
    if json_:
        for entry in entries:
            typer.echo(json.dumps(entry, ensure_ascii=False))
        return
    table(("VERSION", "SAVED (UTC)", "BY", "IN USE", "COMMENT"),
          [(str(e["version"]), str(e["saved"])[:16].replace("T", " ") or "-", str(e["author"]) or "-",
            "yes" if e["in_use"] else "", str(e["comment"]) or "-") for e in entries],
          empty=f"{name} has no shipped files and no saved versions")


@app.command()
def rollback(name: NameArgument, version: Annotated[str, typer.Argument(help="A version from `history`, or shipped.")],
             config: ConfigOption = None) -> None:
    """Put an earlier version back in use, as a new version (history is never rewritten); 0 is the shipped files.

    Example: gateway templates rollback acknowledgement 2
    """
    _known(name)
    number = _version_of(version)
    if number is None:
        fail("roll back to a version number or shipped, not current", code=2)
    store = open_store(settings_from(config))
    try:
        with store.transaction() as tx:
            row = sources.rollback(tx, name, number, now=utc_now(), author=_author())
    except TemplateProblemError as exc:
        _refused(name, exc.problems)
    except UnknownTemplateError as exc:
        fail(str(exc))
    what = "the shipped files" if number == sources.SHIPPED_VERSION else f"version {number}"
    typer.echo(f"saved {name} version {row.version}, a copy of {what}; it is in use now")


@app.command("send-test")
def send_test(name: NameArgument, to: Annotated[str, typer.Option("--to", help="Where the test goes.")],
              config: ConfigOption = None, conversation: ConversationOption = "", channel: ChannelOption = "",
              language: LanguageOption = "") -> None:
    """Queue the preview as a mail to the --to address, its subject marked as a test, sent as automatic mail.

    Example: gateway templates send-test acknowledgement --to me@example.com --language de
    """
    _known(name)
    if not is_plain_address(to.strip()):
        fail(f"{to!r} is not a plain ASCII mail address; give one like me@example.com", code=2)
    settings = settings_from(config)
    # From the channel's own address when one is named, so the test looks like what that channel sends.
    local = channel.partition("@")[0].lower()
    sender = next((a for a in settings.mail.addresses if a.partition("@")[0].lower() == local and local),
                  settings.mail.addresses[0])
    store = open_store(settings)
    now = utc_now()
    try:
        with store.transaction() as tx:
            rendered, _ = _preview(tx, settings, name, conversation, channel, language)
            # Reply-To the tester: an answer must not reach support@ as a customer's new conversation.
            addressing = Addressing(from_name=settings.mail.name, from_address=sender, to=("", to.strip()),
                                    reply_to=to.strip(), message_id=make_msgid(domain=settings.mail.domain))
            mail = build(addressing, f"[test] {rendered.subject or rendered.name}", rendered.text, now,
                         automatic="auto-generated", html=rendered.html)
            # No template name on the row: a test must not count as a use in `stats`.
            item = enqueue(tx, mail, conversation=None, kind="template_test", mail_from=sender, settings=settings,
                           now=now)
    except GatewayError as exc:
        fail(str(exc))
    typer.echo(f"queued a test of {rendered.name} to {to.strip()} (outbox {item.id}); `gateway serve` delivers it")


@app.command()
def stats(config: ConfigOption = None, json_: JsonOption = False,
          days: Annotated[int, typer.Option(min=1, max=36500, help="Look back this many days.")] = 30) -> None:
    """Count the uses of each template and each saved reply (#template NAME) over the last days.

    A saved reply used again and again points to a cause worth fixing; stats says which.

    Example: gateway templates stats --days 7
    """
    store = open_store(settings_from(config))
    since = utc_now() - timedelta(days=days)
    with store.reading() as tx:
        usage = template_usage(tx, since, list(catalog())) + saved_reply_usage(tx, since)
    if json_:
        for u in usage:
            typer.echo(json.dumps({"kind": u.kind, "name": u.name, "uses": u.uses, "share": round(u.share, 3),
                                   "worth_fixing": u.worth_fixing}, ensure_ascii=False))
        return
    table(("KIND", "NAME", f"USES ({days} DAYS)", "SHARE OF REPLIES"),
          [(u.kind.replace("_", " "), u.name, str(u.uses), f"{u.share:.0%}" if u.kind == "saved_reply" else "")
           for u in usage])
    out = console()
    for u in (u for u in usage if u.worth_fixing):
        out.print(f"Saved reply {u.name!r} went out {u.uses} times, in {u.share:.0%} of replies. A canned reply "
                      "used this often points to a cause worth fixing (a product gap, a missing help article, a "
                      "confusing page).", soft_wrap=True)
    if not any(u.kind == "saved_reply" for u in usage):
        out.print(f"no saved replies used in the last {days} days")
