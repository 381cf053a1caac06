"""Render a template for the pipeline: sandboxed, StrictUndefined, HTML autoescaped, variants looked up."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session

from gateway.templating.sandbox import compile_part
from gateway.templating.source import SHIPPED_VERSION, Source, resolve

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rendered:
    """A rendered template; `name` is the variant used (e.g. "acknowledgement.beta"), html "" when it has none."""

    name: str
    subject: str
    text: str
    html: str


def render_source(source: Source, variables: Mapping[str, object]) -> Rendered:
    """Render each part present; a missing value raises (jinja2.UndefinedError), never renders as ""."""
    parts = source.parts
    subject = compile_part("subject", parts.subject).render(variables) if parts.subject else ""
    text = compile_part("text", parts.text).render(variables)
    html = compile_part("html", parts.html).render(variables) if parts.html else ""
    # A subject is one line: a template's line breaks must not end up in the header.
    return Rendered(source.name, " ".join(subject.split()), text, html)


def render_template(tx: Session | None, name: str, variables: Mapping[str, object], *, channel: str = "",
                    language: str = "") -> Rendered:
    """Render the best variant of `name` for this channel and language (tx None: shipped files only)."""
    source = resolve(tx, name, channel, language)
    try:
        return render_source(source, variables)
    except Exception:  # An override can raise anything on real data; the shipped files are tested.
        if source.version == SHIPPED_VERSION:
            raise
        # An override passed validation with samples but fails on real data: send the tested shipped wording
        # rather than stop the whole message (and every later one) in the pipeline.
        log.exception("template %s version %d failed to render; using the shipped files", source.name,
                      source.version)
        return render_source(resolve(None, name, channel, language), variables)
