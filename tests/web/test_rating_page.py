"""The rating and opt-out pages as customers (in a real headless Chromium) and link scanners (plain HTTP) meet them."""

from __future__ import annotations

import urllib.error
import urllib.request
from email.message import Message

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from sqlmodel import select

from gateway.merge import merge
from gateway.models import Conversation, Customer, Status
from tests.agents.conftest import Desk
from tests.surveys.conftest import (CUSTOMER, agent_answers, conversation, customer_writes, notes, ref_of,
                                    survey_rows, surveys_in)
from tests.web.conftest import Surveyed

pytestmark = pytest.mark.integration


def fetch(url: str, data: bytes | None = None, method: str = "GET") -> tuple[int, str, Message]:
    """A plain HTTP request, as a link scanner or a mail provider's one-click POST makes it."""
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers


def opted_out(store) -> bool:
    with store.reading() as tx:
        return tx.exec(select(Customer).where(Customer.address == CUSTOMER)).one().surveys_opted_out_at is not None


def checked(browser) -> list[str]:
    return [radio.get_attribute("value") for radio in browser.find_elements(By.NAME, "rating") if radio.is_selected()]


def detached(element) -> bool:  # type: ignore[no-untyped-def]
    try:
        element.is_enabled()
        return False
    except WebDriverException:  # Stale, or chromedriver's "does not belong to the document" mid-navigation.
        return True


def submit(browser, press=None) -> None:  # type: ignore[no-untyped-def]
    """Press the form's button (or do `press`) and wait until the next page has replaced this one."""
    page = browser.find_element(By.TAG_NAME, "html")
    if press is None:
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    else:
        press()
    WebDriverWait(browser, 10).until(lambda _: detached(page))
    WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,)).until(
        lambda b: b.execute_script("return document.readyState") == "complete")


def send(browser, press=None) -> None:  # type: ignore[no-untyped-def]
    submit(browser, press)
    assert "Thank you" in browser.find_element(By.TAG_NAME, "body").text


def test_a_link_scanner_opening_every_link_records_nothing(surveyed: Surveyed, store) -> None:
    for url in (*surveyed.links.values(), surveyed.optout):
        for method in ("GET", "HEAD"):
            status, _, headers = fetch(url, method=method)
            assert status == 200
            assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    status, page, _ = fetch(surveyed.links[4], data=b"comment=no+rating", method="POST")
    assert status == 400 and "Please choose one answer." in page
    (row,) = survey_rows(store)
    assert row.rating is None and row.rated_at is None
    assert not opted_out(store)


def test_the_rating_pages_opt_out_link_is_the_public_one_whatever_host_the_request_named(surveyed: Surveyed) -> None:
    # Behind a reverse proxy the request reaches the bind address, under whatever Host the proxy passes on.
    request = urllib.request.Request(surveyed.links[4], headers={"Host": "gateway.internal:8025"})
    with urllib.request.urlopen(request, timeout=10) as response:
        page = response.read().decode()
    assert surveyed.optout.startswith("http://127.0.0.1:")
    assert f'href="{surveyed.optout}"' in page, "the same address as the mail's List-Unsubscribe, from [web] public_url"


def test_the_rating_page_opens_with_the_clicked_choice_and_records_it_on_send(surveyed: Surveyed, store,
                                                                                browser) -> None:
    browser.get(surveyed.links[4])
    assert checked(browser) == ["4"], "the choice clicked in the mail is preselected"
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Example Ltd" in body and "Printer offline" in body and surveyed.ref in body
    assert "Example Ltd" in browser.title
    assert survey_rows(store)[0].rating is None, "opening the page records nothing"
    send(browser)
    (row,) = survey_rows(store)
    assert (row.rating, row.comment, row.rated_via) == (4, "", "web")
    assert conversation(store, surveyed.ref).status == Status.RESOLVED


def test_another_click_changes_the_rating_and_adds_a_comment_until_the_links_expire(surveyed: Surveyed, store,
                                                                                     browser, desk: Desk) -> None:
    browser.get(surveyed.links[5])
    send(browser)
    browser.get(surveyed.links[2])
    assert checked(browser) == ["2"]
    assert "You answered Excellent before" in browser.find_element(By.TAG_NAME, "body").text
    browser.find_element(By.ID, "comment").send_keys("The first answer did not help; the second one did.")
    send(browser)
    (row,) = survey_rows(store)
    assert (row.rating, row.comment) == (2, "The first answer did not help; the second one did.")
    assert checked(browser) == ["2"] and "second one did" in browser.find_element(By.ID, "comment").get_attribute(
        "value"), "the page shows what was kept"
    assert notes(store, "survey_answer")[-1] == ("Survey answered on the rating page: 2 (Poor): The first answer "
                                                 "did not help; the second one did.")
    desk.clock.advance(days=13)  # The links were made a day after the close, valid 14 days from then.
    browser.get(surveyed.links[3])
    send(browser)
    assert survey_rows(store)[0].rating == 3
    desk.clock.advance(days=1)
    status, page, _ = fetch(surveyed.links[1], data=b"rating=1", method="POST")
    assert status == 410 and "This survey has closed" in page
    assert survey_rows(store)[0].rating == 3, "an expired link changes nothing"


def test_the_page_is_usable_by_keyboard_and_fits_a_phone(surveyed: Surveyed, store, browser) -> None:
    browser.get(surveyed.links[3])
    assert browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert browser.execute_script("return document.documentElement.lang") == "en"
    # Every control has a label a screen reader reads out.
    unlabelled = browser.execute_script(
        "return [...document.querySelectorAll('input:not([type=hidden]), textarea')]"
        ".filter(e => !e.labels || e.labels.length === 0).length")
    assert unlabelled == 0
    radio = next(r for r in browser.find_elements(By.NAME, "rating") if r.is_selected())
    radio.send_keys(Keys.ARROW_DOWN)  # Arrow keys move the choice, as in any radio group.
    assert checked(browser) == ["2"]
    browser.switch_to.active_element.send_keys(Keys.TAB)
    browser.switch_to.active_element.send_keys("Fine.")
    browser.switch_to.active_element.send_keys(Keys.TAB)
    send(browser, lambda: browser.switch_to.active_element.send_keys(Keys.ENTER))
    assert (survey_rows(store)[0].rating, survey_rows(store)[0].comment) == (2, "Fine.")


# The WCAG contrast ratio of every bit of text against the background it is drawn on.
CONTRASTS = """
const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
const lum = c => { const [r, g, b] = rgb(c).slice(0, 3).map(v => v / 255)
  .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
const background = e => { for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
  if (rgb(c).length < 4 || rgb(c)[3] > 0) return c; } return getComputedStyle(document.documentElement).backgroundColor
  || "rgb(255, 255, 255)"; };
return [...document.body.querySelectorAll("*")]
  .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
  .map(e => { const [a, b] = [lum(getComputedStyle(e).color), lum(background(e))];
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); });
"""


def test_every_text_on_the_pages_has_strong_contrast_in_light_and_dark_mode(surveyed: Surveyed,
                                                                              any_scheme_browser) -> None:
    for url in (surveyed.links[4], surveyed.optout, surveyed.links[4][:-3]):
        any_scheme_browser.get(url)
        ratios = any_scheme_browser.execute_script(CONTRASTS)
        assert ratios and min(ratios) >= 4.5, (url, ratios)


@pytest.mark.parametrize(("change", "says", "status"), [
    (lambda url: url[:-3], "This link doesn't work", 404),
    (lambda url: url.replace(".4.", ".5."), "This link doesn't work", 404),
    (lambda url: url.rsplit("/", 2)[0] + "/nothing-here", "Page not found", 404),
], ids=["cut short", "another rating, same signature", "no such page"])
def test_a_forged_or_broken_link_gets_a_friendly_page(surveyed: Surveyed, store, browser, change, says,
                                                      status) -> None:
    url = change(surveyed.links[4])
    browser.get(url)
    assert says in browser.find_element(By.TAG_NAME, "h1").text
    assert fetch(url)[0] == status
    assert fetch(url, data=b"rating=5", method="POST")[0] == status
    assert survey_rows(store)[0].rating is None


def test_an_expired_link_gets_a_friendly_page(surveyed: Surveyed, store, browser, desk: Desk) -> None:
    desk.clock.advance(days=14)
    browser.get(surveyed.links[5])
    assert browser.find_element(By.TAG_NAME, "h1").text == "This survey has closed"
    assert "Example Ltd" in browser.find_element(By.TAG_NAME, "body").text
    assert survey_rows(store)[0].rating is None


def test_one_click_unsubscribe_opts_out_of_surveys_but_not_of_support(surveyed: Surveyed, store,
                                                                       desk: Desk) -> None:
    # What Gmail and other providers send for List-Unsubscribe-Post (RFC 8058).
    status, _, _ = fetch(surveyed.optout, data=b"List-Unsubscribe=One-Click", method="POST")
    assert status == 200 and opted_out(store)
    got = customer_writes(desk, "Scanner jams")
    assert "We have your message" in got["customer"].get_body(("plain",)).get_content(), "support is unchanged"
    agent_answers(desk, got["alice"])
    desk.clock.advance(days=2)
    desk.settle()
    assert surveys_in(desk.take()) == []
    assert notes(store, "not_surveyed")[-1].startswith("No survey sent: the customer opted out of surveys on ")


def test_links_of_a_survey_whose_conversation_was_merged_since_still_work(surveyed: Surveyed, store,
                                                                          desk: Desk) -> None:
    later = ref_of(customer_writes(desk, "Scanner jams")["alice"])
    with store.transaction() as tx:
        source, target = (tx.exec(select(Conversation).where(Conversation.ref == ref)).one()
                          for ref in (surveyed.ref, later))
        merge(tx, source, target, desk.clock.now)
    status, page, _ = fetch(surveyed.links[4])
    assert status == 200 and "Printer offline" in page, "the survey stays with the conversation it was sent for"
    status, _, _ = fetch(surveyed.optout, data=b"List-Unsubscribe=One-Click", method="POST")
    assert status == 200 and opted_out(store)


def test_the_opt_out_page_asks_first_and_can_be_undone(surveyed: Surveyed, store, browser) -> None:
    html = surveyed.mail.get_body(("html",)).get_content()
    assert f'href="{surveyed.optout}"' in html, "the mail's body links to the same opt-out page"
    browser.get(surveyed.optout)
    assert not opted_out(store), "opening the page is not opting out"
    assert CUSTOMER in browser.find_element(By.TAG_NAME, "body").text
    submit(browser)
    assert browser.find_element(By.TAG_NAME, "h1").text == "No more surveys"
    assert opted_out(store)
    submit(browser)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Stop surveys?"
    assert not opted_out(store)


def test_healthz_says_ok_while_the_database_answers(web: str) -> None:
    assert fetch(f"{web}/healthz")[:2] == (200, "ok\n")
