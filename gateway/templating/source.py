"""Where a template's text comes from: the newest override version in the database, else the shipped files.
Versions only grow (a rollback is a new version); an empty text part means "the shipped files" again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from gateway.models import TemplateVersion
from gateway.templating.catalog import SHIPPED, UnknownTemplateError, info
from gateway.templating.parts import Parts
from gateway.templating.validate import TemplateProblemError, validate

SHIPPED_VERSION = 0


@dataclass(frozen=True)
class Source:
    """One template's parts and where they came from (version 0: the shipped files)."""

    name: str
    parts: Parts
    version: int
    origin: str


@cache
def _read_shipped(root: Path, name: str) -> Parts | None:
    folder = root / name
    if not (folder / "text.j2").is_file():
        return None
    read = {part: (folder / f"{part}.j2").read_text(encoding="utf-8") if (folder / f"{part}.j2").is_file() else ""
            for part in ("subject", "text", "html")}
    return Parts(**read).normalised()


def shipped(name: str) -> Source | None:
    """The shipped files of exactly this name, or None (e.g. a variant only an admin created)."""
    parts = _read_shipped(SHIPPED, name)
    return Source(name, parts, SHIPPED_VERSION, f"shipped files gateway/templates/{name}/") if parts else None


def _from_row(row: TemplateVersion) -> Source | None:
    if not row.text:
        return None  # A rollback to the shipped files.
    who = f" by {row.author}" if row.author else ""
    return Source(row.name, Parts(row.subject, row.text, row.html), row.version,
                  f"database version {row.version} ({row.created_at:%Y-%m-%d %H:%M}{who})")


def latest_rows(tx: Session, names: list[str]) -> dict[str, TemplateVersion]:
    """The newest saved version of each of these names that has any, in one query."""
    newest = (select(TemplateVersion.name, func.max(TemplateVersion.version).label("v"))
              .where(col(TemplateVersion.name).in_(names)).group_by(col(TemplateVersion.name)).subquery())
    rows = tx.exec(select(TemplateVersion).join(newest, (col(TemplateVersion.name) == newest.c.name)
                                                & (col(TemplateVersion.version) == newest.c.v))).all()
    return {row.name: row for row in rows}


def current(tx: Session | None, name: str) -> Source | None:
    """What exactly this name renders from now: its newest override, else its shipped files."""
    row = latest_rows(tx, [name]).get(name) if tx is not None else None
    return (_from_row(row) if row is not None else None) or shipped(name)


def candidates(name: str, channel: str = "", language: str = "") -> list[str]:
    """Lookup order: name.channel.lang, name.lang, name.channel, name (a channel is its address's local part)."""
    channel, language = channel.partition("@")[0].strip().lower(), language.strip().lower()
    names = [f"{name}.{channel}.{language}" if channel and language else "",
             f"{name}.{language}" if language else "", f"{name}.{channel}" if channel else "", name]
    return list(dict.fromkeys(n for n in names if n))


_RESOLVED = "template_sources"  # the key of resolve's per-transaction cache in Session.info


def resolve(tx: Session | None, name: str, channel: str = "", language: str = "") -> Source:
    """The first of the candidates that exists, overrides before files for each; refuses an unknown name."""
    info(name)
    # One lookup per transaction: a customer mail notifying five agents renders the same template five times.
    cache: dict[tuple[str, str, str], Source] = tx.info.setdefault(_RESOLVED, {}) if tx is not None else {}
    key = (name, channel, language)
    if key in cache:
        return cache[key]
    names = candidates(name, channel, language)
    rows = latest_rows(tx, names) if tx is not None else {}
    for candidate in names:
        row = rows.get(candidate)
        found = (_from_row(row) if row is not None else None) or shipped(candidate)
        if found is not None:
            cache[key] = found
            return found
    raise UnknownTemplateError(f"template {name!r} has neither shipped files nor a saved version")


def history(tx: Session, name: str) -> list[TemplateVersion]:
    """Every saved version, oldest first."""
    return list(tx.exec(select(TemplateVersion).where(TemplateVersion.name == name)
                        .order_by(col(TemplateVersion.version))).all())


def version(tx: Session, name: str, number: int) -> Source | None:
    """One version as it renders: 0 and rollbacks to the shipped files are the files."""
    if number == SHIPPED_VERSION:
        return shipped(name)
    row = tx.exec(select(TemplateVersion).where(TemplateVersion.name == name,
                                                TemplateVersion.version == number)).first()
    if row is None:
        return None
    return _from_row(row) or shipped(name)


def _next_version(tx: Session, name: str) -> int:
    top = tx.exec(select(func.max(TemplateVersion.version)).where(TemplateVersion.name == name)).one()
    return (top or 0) + 1


def save(tx: Session, name: str, parts: Parts, *, now: datetime, author: str = "",
         comment: str = "") -> TemplateVersion:
    """Save a new version after validating it; a template with any problem is refused, never saved."""
    parts = parts.normalised()
    problems = validate(name, parts)
    if problems:
        raise TemplateProblemError(problems)
    row = TemplateVersion(name=name, version=_next_version(tx, name), subject=parts.subject, text=parts.text,
                          html=parts.html, created_at=now, author=author, comment=comment)
    tx.add(row)
    tx.flush()
    tx.info.pop(_RESOLVED, None)
    return row


def rollback(tx: Session, name: str, number: int, *, now: datetime, author: str = "") -> TemplateVersion:
    """A new version copying version `number` (0: back to the shipped files); history is never rewritten."""
    info(name)
    row = None
    if number != SHIPPED_VERSION:
        row = tx.exec(select(TemplateVersion).where(TemplateVersion.name == name,
                                                    TemplateVersion.version == number)).first()
        if row is None:
            raise UnknownTemplateError(f"{name} has no version {number}; `gateway templates history {name}` "
                                       "lists them")
    if row is None or not row.text:
        if shipped(name) is None and not history(tx, name):
            raise UnknownTemplateError(f"{name} has no shipped files and no saved versions: nothing to roll back")
        back = TemplateVersion(name=name, version=_next_version(tx, name), text="", created_at=now, author=author,
                               comment=f"rollback to version {number}: the shipped files")
        tx.add(back)
        tx.flush()
        tx.info.pop(_RESOLVED, None)
        return back
    # The declared variables may have changed since that version was saved: check it again.
    return save(tx, name, Parts(row.subject, row.text, row.html), now=now, author=author,
                comment=f"rollback to version {number}")
