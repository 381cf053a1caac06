"""The two sandboxed Jinja environments every template renders in: plain for subject and text, escaping for HTML."""

from __future__ import annotations

from functools import lru_cache
from types import TracebackType

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

# StrictUndefined: a missing value raises, so no mail ever says "Hi ,". The settings match what the shipped
# text templates were written for (no trim_blocks; a template's last newline is kept).
TEXT_ENV = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
HTML_ENV = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=True)


@lru_cache(maxsize=512)
def compile_part(part: str, source: str) -> Template:
    """The compiled template of one part; an override is compiled once, not once per mail."""
    return (HTML_ENV if part == "html" else TEXT_ENV).from_string(source)


def template_line(tb: TracebackType | None) -> int | None:
    """The template line a rendering error happened on (Jinja rewrites tracebacks to template lines)."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
