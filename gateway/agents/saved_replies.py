"""Saved replies for `#template NAME`: NAME.txt files in a folder, personalised with Jinja."""

from __future__ import annotations

import logging
from pathlib import Path

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

log = logging.getLogger(__name__)
_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


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
        return _env.from_string(source).render(variables).strip("\n")
    except TemplateError as exc:
        raise ValueError(str(exc)) from None
