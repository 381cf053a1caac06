"""Saved replies for `#template NAME`: NAME.txt files in a folder, personalised with Jinja."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment

log = logging.getLogger(__name__)
_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
# What reply.py fills in; anything else in a saved reply stops it at the agent's #template.
VARIABLES = ("customer_name", "agent_name", "ref", "subject")
# "Hi {{ customer_name }}," for a customer we know no name of: the greeting closes up ("Hi,", "Hallo,").
_GREETING_GAP = re.compile(r"^(\s*[^\W\d_]+(?: [^\W\d_]+)?) +(?=[,!])")


def load_saved_replies(folder: str) -> dict[str, str]:
    """Every NAME.txt in the folder (lower-cased names); an unset or missing folder means none."""
    if not folder:
        return {}
    path = Path(folder)
    if not path.is_dir():
        log.warning("saved replies folder %s does not exist; #template will find nothing", folder)
        return {}
    found: dict[str, str] = {}
    for file in sorted(path.glob("*.txt")):
        try:
            found[file.stem.lower()] = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:  # One bad file must not stop the others, or the gateway.
            log.warning("saved reply %s skipped: %s (save it as UTF-8 text)", file, exc)
    return found


def render_saved_reply(source: str, variables: dict[str, str]) -> str:
    """The saved reply with the conversation's values filled in; raises ValueError saying what is wrong."""
    try:
        text = _env.from_string(source).render(variables).strip("\n")
    # Not only TemplateError: {% include %} with no loader, a filter given the wrong type, the sandbox refusing.
    except Exception as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None
    if not text.strip():
        raise ValueError("it is empty")
    # Only a first line written with the name in it: "Merci !" in a reply that greets nobody stays as written.
    if variables.get("customer_name") or "customer_name" not in source.lstrip().partition("\n")[0]:
        return text
    first, newline, rest = text.partition("\n")
    return _GREETING_GAP.sub(r"\1", first, count=1) + newline + rest


def saved_reply_problems(source: str) -> list[str]:
    """What stops this saved reply from rendering: broken Jinja, a variable reply.py does not fill in, or an
    error (or nothing at all) when rendered for a customer with a name and for one without."""
    try:
        unknown = sorted(meta.find_undeclared_variables(_env.parse(source)) - set(VARIABLES))
    except TemplateError as exc:
        return [f"line {getattr(exc, 'lineno', '?')}: {exc}"]
    if unknown:
        return [f"unknown variable {name} (known: {', '.join(VARIABLES)})" for name in unknown]
    for name in ("Anne", ""):
        try:
            render_saved_reply(source, {"customer_name": name, "agent_name": "Bob", "ref": "K7Q2M9XA",
                                        "subject": "Printer offline"})
        except ValueError as exc:
            return [f"does not render: {exc}"]
    return []
