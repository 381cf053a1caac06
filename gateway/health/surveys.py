"""Doctor checks of surveys: their links must reach the rating page from a customer's mailbox."""

from __future__ import annotations

from collections.abc import Iterator

from gateway.config import Settings
from gateway.health import Finding


def check_survey_links(settings: Settings) -> Iterator[Finding]:
    """Survey links use [web] public_url (no survey goes out without it), and one-click opt-out (RFC 8058) needs
    it to be https."""
    if not settings.surveys.enabled:
        yield Finding("survey links", True, "surveys are off")
        return
    url = settings.web.base_url
    if not settings.web.public_url:
        yield Finding("survey links", False, "[web] public_url is empty, so no survey is sent (its links would "
                      f"point to {url}, which only this machine can open)",
                      "set [web] public_url to the address your reverse proxy serves (or set [surveys] enabled = "
                      "false)")
    elif not url.startswith("https://"):
        yield Finding("survey links", False, f"links in surveys point to {url}, but mail providers only offer "
                      "one-click opt-out (RFC 8058) over https", "set [web] public_url to an https:// address")
    else:
        yield Finding("survey links", True, f"links in surveys point to {url}")
