"""Doctor checks of what mail is written from: each template as it renders now (shipped files or an override)
still validates, and each saved reply renders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from gateway.agents.saved_replies import VARIABLES, saved_reply_problems
from gateway.config import Settings
from gateway.health import Finding
from gateway.models import TemplateVersion
from gateway.store import Store
from gateway.templating.catalog import catalog, shipped_variants
from gateway.templating.source import current
from gateway.templating.validate import validate


def check_templates(settings: Settings) -> Iterator[Finding]:
    """An override saved before the declared variables changed can stop validating: find it before a customer."""
    names = {name for base in catalog() for name in (base, *shipped_variants(base))}
    store = Store.for_settings(settings)
    try:
        with store.reading() as tx:
            overridden = set(tx.exec(select(TemplateVersion.name).distinct()).all())
            sources = [current(tx, name) for name in sorted(names | overridden)]
    except SQLAlchemyError:
        # The database check says what is wrong with the store; the shipped files can still be checked.
        overridden, sources = set(), [current(None, name) for name in sorted(names)]
    finally:
        store.dispose()
    bad = 0
    for source in (s for s in sources if s is not None):
        problems = validate(source.name, source.parts)
        if problems:
            bad += 1
            yield Finding("templates", False, f"{source.name} ({source.origin}): {'; '.join(problems)}",
                          f"`gateway templates edit {source.name}`, or `gateway templates rollback {source.name} 0` "
                          "for the shipped text")
    if not bad:
        yield Finding("templates", True, f"{len(sources)} templates valid ({len(overridden)} with saved versions)")


def check_saved_replies(settings: Settings) -> Iterator[Finding]:
    """Each saved reply an agent can ask for with #template renders: found before an agent's reply is refused."""
    folder = settings.agents.saved_replies
    if not folder:
        return
    path = Path(folder)
    if not path.is_dir():
        yield Finding("saved replies", False, f"[agents] saved_replies folder {folder} does not exist",
                      "create it and put one NAME.txt per saved reply in it, or unset [agents] saved_replies")
        return
    entries = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    files = [p for p in entries if p.suffix == ".txt"]
    for other in (p for p in entries if p.suffix != ".txt"):
        yield Finding("saved replies", True, f"{other.name} is not read: saved replies are NAME.txt files",
                      f"rename it to {other.stem}.txt if it is one", warning=True)
    seen: dict[str, Path] = {}
    bad = 0
    for file in files:
        name = file.stem.lower()
        try:
            problems = saved_reply_problems(file.read_text(encoding="utf-8"))
            fix = f"edit {file}: it may use {', '.join(VARIABLES)}"
        except (OSError, UnicodeDecodeError) as exc:
            problems = [f"cannot be read as UTF-8 text ({type(exc).__name__})"]
            fix = f"save it as UTF-8, e.g. iconv -f latin1 -t utf-8 -o {file}.new {file} && mv {file}.new {file}"
        if name in seen:  # load_saved_replies() would keep only the later one
            problems = [*problems, f"#template {name} names {seen[name].name} too (names ignore case)"]
            fix = "rename one of them"
        seen.setdefault(name, file)
        if problems:
            bad += 1
            yield Finding("saved replies", False, f"{file.name}: {'; '.join(problems)}", fix)
    if not bad:
        yield Finding("saved replies", True, f"saved replies in {folder}: {len(files)} found, each renders")
