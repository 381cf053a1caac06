"""The ASGI app (Starlette): the rating page, the opt-out page (with RFC 8058 one-click POST) and /healthz.
A GET never changes anything: link scanners open every link in a mail before the person does."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway.config import Settings
from gateway.store import Store
from gateway.surveys.choices import choices, label
from gateway.surveys.content import company_name, day
from gateway.surveys.links import optout_token, optout_url, read_optout_token, read_rating_token
from gateway.surveys.mail_rating import COMMENT_LIMIT
from gateway.web.render import SECURITY_HEADERS, message, page
from gateway.web.surveys import load_opt_out, load_survey_page, save_opt_out, save_rating

log = logging.getLogger(__name__)
# The most a form may send: a rating, a comment of COMMENT_LIMIT characters, and room for encoding.
MAX_BODY = 32 * 1024


class SurveyPages:
    """The handlers, bound to one store, config, token secret and clock."""

    def __init__(self, store: Store, settings: Settings, secret: str, clock: Callable[[], datetime]) -> None:
        self.store, self.settings, self.secret, self.clock = store, settings, secret, clock
        self.company = company_name(settings)

    def _say(self, title: str, text_: str, status: int) -> Response:
        return message(self.company, title, text_, status)

    def _invalid(self) -> Response:
        return self._say("This link doesn't work", "It may have been cut short when it was copied. Try the link "
                          "in the mail again; if it still fails, simply reply to that mail instead.", 404)

    async def rating(self, request: Request) -> Response:
        """GET shows the page with the clicked answer chosen; POST records the answer and optional comment."""
        link = read_rating_token(self.secret, request.path_params["token"])
        survey = await run_in_threadpool(load_survey_page, self.store, link.ref) if link else None
        if link is None or survey is None or link.rating > survey.choices:
            return self._invalid()
        now = self.clock()
        if now >= link.expires_at:
            return self._say("This survey has closed", f"Its links worked until {day(link.expires_at)}. "
                              "Thank you all the same; you can always reply to our mail to tell us more.", 410)
        values = {"company": self.company, "title": "How did we do?", "ref": survey.ref, "subject": survey.subject,
                  "choices": choices(survey.choices), "selected": link.rating, "comment": survey.comment,
                  "comment_limit": COMMENT_LIMIT, "expires": day(link.expires_at),
                  # The public address, as in the mail; a relative link would miss a proxy's path prefix.
                  "optout_url": optout_url(self.settings.web.base_url, optout_token(self.secret, survey.ref)),
                  "saved": False,
                  "answered": label(survey.choices, survey.rating) if survey.rating else "", "problem": ""}
        if request.method != "POST":
            return page("rate", **values)
        form = await _form(request)
        rating, comment = form.get("rating", ""), form.get("comment", "")
        if not rating.isdigit() or not 1 <= int(rating) <= survey.choices:
            return page("rate", 400, **{**values, "comment": comment, "problem": "Please choose one answer."})
        await run_in_threadpool(save_rating, self.store, survey.survey_id, int(rating), comment, now)
        return page("rate", **{**values, "selected": int(rating), "comment": comment.strip()[:COMMENT_LIMIT],
                               "saved": True, "answered": ""})

    async def optout(self, request: Request) -> Response:
        """GET asks; POST opts out (a button, or a mail client's RFC 8058 one-click) or back in."""
        ref = read_optout_token(self.secret, request.path_params["token"])
        customer = await run_in_threadpool(load_opt_out, self.store, ref) if ref else None
        if ref is None or customer is None:
            return self._invalid()
        opted_out = customer.opted_out_at is not None
        if request.method == "POST":
            form = await _form(request)
            # RFC 8058: the client POSTs "List-Unsubscribe=One-Click"; our own page's button says what it wants.
            wanted = form.get("List-Unsubscribe") == "One-Click" or form.get("action") != "optin"
            await run_in_threadpool(save_opt_out, self.store, ref, wanted, self.clock())
            opted_out = wanted
        title = "No more surveys" if opted_out else "Stop surveys?"
        return page("optout", company=self.company, title=title, address=customer.address, opted_out=opted_out)

    async def healthz(self, request: Request) -> Response:
        """200 "ok" while the database answers; 503 otherwise (for the proxy's or the orchestrator's probe)."""
        try:
            await run_in_threadpool(self._ping)
        except Exception as exc:  # Whatever the store raises, the probe gets one line, not a traceback.
            log.warning("healthz: database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
            return PlainTextResponse("database unavailable\n", status_code=503, headers=SECURITY_HEADERS)
        return PlainTextResponse("ok\n", headers=SECURITY_HEADERS)

    def _ping(self) -> None:
        with self.store.reading() as tx:
            tx.exec(text("SELECT 1"))  # type: ignore[call-overload]

    async def error(self, request: Request, exc: Exception) -> Response:
        """Starlette's errors (no such page, wrong method, too big) as a page like the others."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 405:
            return self._say("Not here", "This address only shows a page.", 405)
        if status == 413:
            return self._say("That was too long", "Please keep the comment shorter and send it again.", 413)
        return self._say("Page not found", "There is nothing at this address. The links in our mail lead to the "
                          "right pages.", status)


async def _form(request: Request) -> dict[str, str]:
    """The submitted fields as text (a form posts each at most once); a body over MAX_BODY is refused."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise HTTPException(413)
    form = await request.form(max_files=0, max_fields=10, max_part_size=MAX_BODY)
    return {key: value for key, value in form.items() if isinstance(value, str)}


def create_app(store: Store, settings: Settings, secret: str, clock: Callable[[], datetime]) -> Starlette:
    pages = SurveyPages(store, settings, secret, clock)
    routes = [Route("/healthz", pages.healthz, methods=["GET", "HEAD"]),
              Route("/survey/{token}", pages.rating, methods=["GET", "HEAD", "POST"]),
              Route("/surveys/optout/{token}", pages.optout, methods=["GET", "HEAD", "POST"])]
    return Starlette(routes=routes, exception_handlers={HTTPException: pages.error})
