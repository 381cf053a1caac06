"""Check a template before it is saved: syntax, declared variables, required parts, and a render with samples."""

from __future__ import annotations

from jinja2 import TemplateError, TemplateSyntaxError, meta, nodes

from gateway.errors import GatewayError
from gateway.templating.catalog import TemplateInfo, base_of, info
from gateway.templating.parts import Parts
from gateway.templating.samples import sample_variable_sets
from gateway.templating.sandbox import HTML_ENV, TEXT_ENV, compile_part, template_line


class TemplateProblemError(GatewayError):
    """A template was refused; `problems` has one line each, and nothing was saved."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _missing(name: str, template: TemplateInfo, parts: Parts) -> list[str]:
    problems = [] if parts.text.strip() else ["text: missing; every template needs a text part"]
    if template.has_subject and not parts.subject.strip():
        problems.append(f"subject: missing; {name} needs a subject line")
    if not template.has_subject and parts.subject.strip():
        problems.append(f"subject: {name} has no subject part (the gateway sets one subject per conversation "
                        "so agents' clients thread it); leave it empty")
    problems += [f"text: must keep the line {line!r} (replies are cut there)" for line in template.must_contain
                 if parts.text.strip() and line not in parts.text]
    return problems


def _references(part: str, source: str, template: TemplateInfo) -> list[str]:
    """Syntax errors and names the template does not declare, each with its line."""
    env = HTML_ENV if part == "html" else TEXT_ENV
    try:
        tree = env.parse(source)
        env.compile(tree)  # Unknown filters and tests are only found when compiling.
    except TemplateSyntaxError as exc:
        return [f"{part}: line {exc.lineno}: {exc.message}"]
    unknown = meta.find_undeclared_variables(tree) - set(template.variables)
    allowed = ", ".join(template.variables) or "none"
    lines = {n.name: n.lineno for n in reversed(list(tree.find_all(nodes.Name))) if n.name in unknown}
    return [f"{part}: line {lines.get(v, 1)}: '{v}' is not a variable of {template.name} (it may use: {allowed})"
            for v in sorted(unknown, key=lambda v: (lines.get(v, 1), v))]


def _render_check(name: str, part: str, source: str) -> list[str]:
    """Render with each sample case, so `hours.opne_now` is caught too, not only unknown top-level names."""
    for case, variables in sample_variable_sets(name):
        try:
            compile_part(part, source).render(variables)
        except Exception as exc:  # A template can raise anything ({{ 1/0 }}): each is a problem line, not a traceback.
            line = template_line(exc.__traceback__)
            where = f"line {line}: " if line else ""
            message = exc.message if isinstance(exc, TemplateError) and exc.message else f"{type(exc).__name__}: {exc}"
            return [f"{part}: {where}{message} (rendering the sample: {case})"]
    return []


def validate(name: str, parts: Parts) -> list[str]:
    """One line per problem with this template (a base or variant name); an empty list means it may be saved."""
    template = info(name)
    problems = _missing(base_of(name), template, parts)
    for part in ("subject", "text", "html"):
        source = getattr(parts, part)
        if source.strip():
            found = _references(part, source, template)
            problems += found or _render_check(name, part, source)
    return problems
