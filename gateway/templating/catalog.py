"""The shipped templates: each base folder's template.toml (description, audience, variables) and its variants."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from gateway.errors import GatewayError

SHIPPED = Path(__file__).resolve().parent.parent / "templates"
Audience = Literal["customers", "agents", "admins"]
# A variant suffix: the channel's local part and/or a language code, e.g. "beta", "de", "beta.de".
_SUFFIX = re.compile(r"[a-z0-9][a-z0-9_+-]*(\.[a-z0-9][a-z0-9_+-]*)?")


class UnknownTemplateError(GatewayError):
    """No template by that name (or no variant of a known one)."""


@dataclass(frozen=True)
class TemplateInfo:
    """What a base template is for and which variables it (and every variant of it) may use."""

    name: str
    description: str
    audience: Audience
    variables: MappingProxyType[str, str]
    # Agent mail gets one subject per conversation from the gateway, so those templates have no subject part.
    has_subject: bool
    # Lines the text must keep, e.g. the reply marker that reply cutting depends on.
    must_contain: tuple[str, ...] = ()


def base_of(name: str) -> str:
    """The base template of a (variant) name: "agent/note.de" -> "agent/note"."""
    folder, _, last = name.rpartition("/")
    return f"{folder}/{last.partition('.')[0]}" if folder else last.partition(".")[0]


def suffix_of(name: str) -> str:
    """The variant part of a name: "acknowledgement.beta.de" -> "beta.de"; "" for a base."""
    return name[len(base_of(name)) + 1:]


@cache
def catalog(root: Path = SHIPPED) -> dict[str, TemplateInfo]:
    """Every base template shipped under `root`, by name, sorted."""
    found: dict[str, TemplateInfo] = {}
    for toml in sorted(root.rglob("template.toml")):
        name = toml.parent.relative_to(root).as_posix()
        data = tomllib.loads(toml.read_text(encoding="utf-8"))
        found[name] = TemplateInfo(
            name=name, description=data["description"], audience=data["audience"],
            variables=MappingProxyType(dict(data.get("variables", {}))),
            has_subject=(toml.parent / "subject.j2").is_file(), must_contain=tuple(data.get("must_contain", ())))
    return found


def info(name: str) -> TemplateInfo:
    """The base template's declaration for `name` (a base or a variant); refuses a name we do not know."""
    base = base_of(name)
    found = catalog().get(base)
    suffix = suffix_of(name)
    if found is None or (name != base and not _SUFFIX.fullmatch(suffix)):
        known = ", ".join(catalog())
        raise UnknownTemplateError(f"no template {name!r}; templates are {known}, and variants like "
                                   f"acknowledgement.beta (channel) or acknowledgement.de (language)")
    return found


@cache
def shipped_variants(base: str, root: Path = SHIPPED) -> tuple[str, ...]:
    """Names of the variant folders shipped next to a base template, e.g. ("acknowledgement.beta", …)."""
    folder = root / base
    return tuple(sorted(f"{base}.{p.name.partition('.')[2]}" for p in folder.parent.glob(f"{folder.name}.*")
                        if (p / "text.j2").is_file()))
