"""The pages as HTML responses: plain, self-contained (no external assets), and never cached or framed."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse

_PAGES = Environment(loader=FileSystemLoader(Path(__file__).parent / "pages"), autoescape=True,
                     undefined=StrictUndefined)
# The links carry their token in the path: no referrer may leak it, no proxy may cache it, no page may frame it.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def page(template: str, status: int = 200, **values: object) -> HTMLResponse:
    """Render pages/<template>.html with `values` (company and title included)."""
    html = _PAGES.get_template(f"{template}.html").render(**values)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def message(company: str, title: str, text: str, status: int) -> HTMLResponse:
    """A page that only says something: an expired or unknown link, a page that does not exist."""
    return page("message", status, company=company, title=title, text=text)
