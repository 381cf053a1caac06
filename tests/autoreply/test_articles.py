"""Self-help articles: loading the help centre, suggesting what fits a customer's mail, and the help links."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.autoreply.articles import Article, ArticleIndex, check_articles, help_links, load_articles
from gateway.autoreply.views import LinkView
from gateway.config import SelfHelpSettings
from gateway.message import parse
from tests.helpers import load_raw

ARTICLES = Path(__file__).parent / "articles"
TOML = ARTICLES / "articles.toml"

# Subject and text as the acknowledgement passes them: what the customer wrote, without quotes.
FORGOT_PASSWORD = """Can't log in
Hi, I forgot my password and the reset link you sent me yesterday has expired.
Could you send me a new one? Thanks, Tom"""
INVOICE_VAT = """Invoice for March without our VAT number
Hello, our accountant needs the invoice for March with our VAT number on it.
Where can I download it? Best regards, Maria Lopez, Lopez & Partners"""
API_429 = """API returning 429
Since this morning our integration gets HTTP 429 Too Many Requests from your API,
although we only sync every five minutes. Is there a limit we are hitting?"""
NOTIFICATIONS_LATE = """Notifications hours late
Hello, since Monday the notification emails for new comments arrive two or three
hours late, some not at all. Nothing in spam. Regards, Priya"""
NEW_PHONE = """New phone, no access
Hi, I got a new phone and my authenticator app is gone, so I can't log in anymore.
I also don't have the recovery codes. Can you reset 2FA for me?"""
GERMAN_INVOICE = """Rechnung für Februar
Hallo, ich finde die Rechnung für Februar nicht in meinem Konto. Können Sie mir die
Rechnung bitte schicken? Wir brauchen sie für die Buchhaltung.
Viele Grüße, Jana Krüger"""
LUNCH = """Lunch on Friday?
Hey, are we still on for lunch on Friday at the Italian place? Cheers, Ben"""


@pytest.fixture(scope="module")
def index() -> ArticleIndex:
    return ArticleIndex.build(load_articles(str(ARTICLES)))


def titles(articles: tuple[Article, ...]) -> list[str]:
    return [article.title for article in articles]


def test_folder_of_markdown_loads_every_article_with_front_matter_and_body() -> None:
    articles = {article.title: article for article in load_articles(str(ARTICLES))}
    assert len(articles) == 10
    invoices = articles["Download invoices and receipts"]
    assert invoices.url == "https://help.northdesk.example/en/articles/invoices"
    assert invoices.keywords[:3] == ("invoice", "invoices", "receipt")  # a comma-separated string
    assert articles["Change your payment method"].keywords[0] == "credit card"  # a YAML list
    assert "Billing history" in invoices.body and "---" not in invoices.body


@pytest.mark.parametrize(("mail", "expected"), [
    (FORGOT_PASSWORD, "Reset your password"),
    (INVOICE_VAT, "Download invoices and receipts"),
    (API_429, "API rate limits"),
    (NOTIFICATIONS_LATE, "Notification emails arrive late or not at all"),
    (NEW_PHONE, "Set up or recover two-factor authentication (2FA)"),
], ids=["password", "invoice", "rate-limit", "notifications", "2fa"])
def test_customer_question_suggests_the_matching_article_first(index: ArticleIndex, mail: str, expected: str) -> None:
    assert titles(index.suggest(mail, 3))[0] == expected


def test_lost_phone_also_suggests_password_reset_but_never_more_than_the_limit(index: ArticleIndex) -> None:
    assert titles(index.suggest(NEW_PHONE, 3)) == ["Set up or recover two-factor authentication (2FA)",
                                                   "Reset your password"]
    assert len(index.suggest(NEW_PHONE, 1)) == 1
    assert index.suggest(NEW_PHONE, 0) == ()


def test_notification_mail_does_not_suggest_2fa_for_the_word_new(index: ArticleIndex) -> None:
    assert titles(index.suggest(NOTIFICATIONS_LATE, 3)) == ["Notification emails arrive late or not at all"]


def test_printer_question_gets_no_suggestion_from_a_software_help_centre(index: ArticleIndex) -> None:
    printer = parse(load_raw("gmail_new_request.eml"))
    assert index.suggest(f"{printer.subject}\n{printer.text}", 3) == ()


def test_mail_about_nothing_in_the_help_centre_gets_no_suggestion(index: ArticleIndex) -> None:
    assert index.suggest(LUNCH, 3) == ()
    assert index.suggest("", 3) == ()


def test_german_invoice_mail_suggests_the_german_invoice_article(index: ArticleIndex) -> None:
    assert titles(index.suggest(GERMAN_INVOICE, 3)) == ["Rechnungen und Belege herunterladen"]


def test_german_password_mail_matches_german_keywords_literally(index: ArticleIndex) -> None:
    mail = "Passwort vergessen\nGuten Tag, ich habe mein Passwort vergessen und komme nicht mehr in mein Konto."
    assert titles(index.suggest(mail, 3))[0] == "Passwort zurücksetzen"


def test_words_in_links_do_not_count(index: ArticleIndex) -> None:
    mail = "Lunch on Friday?\nSee https://maps.example/invoice/password-reset/api for the place."
    assert index.suggest(mail, 3) == ()


def test_equal_scores_are_ordered_by_title() -> None:
    same = dict(url="https://help.example/a", keywords=("refund",), body="How refunds work.")
    index = ArticleIndex.build([Article(title="Refunds B", **same), Article(title="Refunds A", **same)])
    assert titles(index.suggest("Can I get a refund?", 3)) == ["Refunds A", "Refunds B"]


def test_empty_index_and_empty_path_suggest_nothing() -> None:
    assert load_articles("") == ()
    assert ArticleIndex.build(()).suggest(FORGOT_PASSWORD, 3) == ()


def test_toml_file_loads_entries_with_summary_as_body_and_suggests_like_markdown() -> None:
    articles = load_articles(str(TOML))
    assert titles(articles) == ["Reset your password", "Download invoices and receipts", "API rate limits"]
    assert "60 minutes" in articles[0].body
    assert "Settings → Billing" in articles[1].body and "VAT number" in articles[1].body
    assert titles(ArticleIndex.build(articles).suggest(API_429, 3)) == ["API rate limits"]


def test_broken_front_matter_names_the_file_and_the_line(tmp_path: Path) -> None:
    (tmp_path / "refunds.md").write_text("---\ntitle: Refunds: how they work\nurl: https://help.example/r\n---\nText\n")
    with pytest.raises(ValueError) as raised:
        load_articles(str(tmp_path))
    message = str(raised.value)
    assert "refunds.md" in message and "line 2" in message and "YAML" in message
    assert "\n" not in message


def test_hidden_editor_files_beside_the_articles_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "refunds.md").write_text("---\ntitle: Refunds\nurl: https://help.example/r\n---\nText\n")
    (tmp_path / ".#refunds.md").symlink_to(tmp_path / "gone@host.12345")
    assert titles(load_articles(str(tmp_path))) == ["Refunds"]


def test_article_without_url_says_which_file_and_what_to_add(tmp_path: Path) -> None:
    (tmp_path / "refunds.md").write_text("---\ntitle: Refunds\nkeywords: refund\n---\nText\n")
    with pytest.raises(ValueError, match=r"refunds\.md: missing 'url'; add 'url: …'"):
        load_articles(str(tmp_path))


def test_article_with_a_relative_url_is_refused(tmp_path: Path) -> None:
    (tmp_path / "refunds.md").write_text("---\ntitle: Refunds\nurl: /refunds\n---\nText\n")
    with pytest.raises(ValueError, match=r"refunds\.md: url '/refunds' is not a web address"):
        load_articles(str(tmp_path))


def test_toml_entry_without_title_names_the_entry(tmp_path: Path) -> None:
    broken = tmp_path / "help.toml"
    broken.write_text('[[article]]\ntitle = "A"\nurl = "https://a.example"\n\n[[article]]\nurl = "https://b.example"\n')
    with pytest.raises(ValueError, match=r"help\.toml: \[\[article\]\] #2: missing 'title'"):
        load_articles(str(broken))


def test_invalid_toml_is_one_line_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "help.toml"
    broken.write_text('[[article]]\ntitle = "A\n')
    with pytest.raises(ValueError, match=r"help\.toml: not valid TOML") as raised:
        load_articles(str(broken))
    assert "\n" not in str(raised.value)


def test_help_links_name_the_configured_links_and_leave_out_empty_ones() -> None:
    settings = SelfHelpSettings(knowledge_base="https://help.northdesk.example",
                                status_page="https://status.northdesk.example")
    assert help_links(settings) == (LinkView("Help centre", "https://help.northdesk.example"),
                                    LinkView("Service status", "https://status.northdesk.example"))
    assert help_links(SelfHelpSettings(faq="https://help.northdesk.example/faq")) == (
        LinkView("FAQ", "https://help.northdesk.example/faq"),)
    assert help_links(SelfHelpSettings()) == ()


def test_check_articles_accepts_no_path_and_loadable_paths() -> None:
    check_articles(SelfHelpSettings())
    check_articles(SelfHelpSettings(articles=str(ARTICLES)))
    check_articles(SelfHelpSettings(articles=str(TOML)))


def test_check_articles_refuses_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^\[selfhelp\] articles: .*nowhere: not found"):
        check_articles(SelfHelpSettings(articles=str(tmp_path / "nowhere")))


def test_check_articles_refuses_a_folder_that_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "refunds.md").write_text("No front matter at all.\n")
    with pytest.raises(ValueError, match=r"^\[selfhelp\] articles: .*refunds\.md: missing 'title'"):
        check_articles(SelfHelpSettings(articles=str(tmp_path)))
