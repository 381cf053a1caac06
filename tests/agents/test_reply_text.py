"""extract_reply: only what the agent wrote reaches the customer, never what their mail client quoted."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from gateway.agents.reply_text import MARKER, ReplyText, extract_reply
from tests.helpers import CORPORA

NOTIFICATION = f"""{MARKER}
Commands: start your reply with #note (colleagues only), #close, #pending, #assign me, #tag NAME, #priority high, #template NAME or #nosurvey.

PARTNER, tier 2: Anne Example is with a partner.
Conversation K7Q2M9XA · open · priority normal · assigned to nobody · tags: none
Anne Example <anne@customer.example> has 2 earlier conversations:
  - Invoice missing (resolved)
  - VPN drops (open)

---------- Anne Example <anne@customer.example> wrote, Mon 2 Mar 2026 09:00 UTC ----------

Hello, my printer says it is offline.
"""
# Words only the internal block and the customer's quoted message contain.
INTERNAL = ("Reply above", "Commands:", "PARTNER", "earlier conversations", "Invoice missing", "printer says")
REPLY = "Hi Anne, please switch the printer off and on again.\n\nBest, Alice"
ATTRIBUTION = "On Mon, 2 Mar 2026 at 10:00, Support <support+k7q2m9xa-abcdefgh@example.com> wrote:"


def quote(text: str, prefix: str = "> ") -> str:
    return "\n".join((prefix + line).rstrip() for line in text.split("\n"))


def assert_nothing_internal(reply: ReplyText) -> None:
    for sign in INTERNAL:
        assert sign not in reply.text and sign not in reply.html


# Rule 1: the marker.

def test_cuts_at_the_marker_below_a_gmail_attribution() -> None:
    reply = extract_reply(f"{REPLY}\n\n{ATTRIBUTION}\n\n{quote(NOTIFICATION)}")
    assert reply == ReplyText(REPLY, "", reply.stripped, "marker")
    assert reply.stripped.startswith(ATTRIBUTION) and "printer says" in reply.stripped


def test_cuts_at_the_marker_even_when_quoted_with_angle_brackets() -> None:
    reply = extract_reply(f"{REPLY}\n\n{quote(quote(NOTIFICATION), '>')}")
    assert (reply.text, reply.cut_by) == (REPLY, "marker")


def test_cuts_at_the_marker_when_the_client_wrapped_it_over_two_lines() -> None:
    wrapped = NOTIFICATION.replace(MARKER, "##- Reply above this line to answer the customer -\n##")
    reply = extract_reply(f"{REPLY}\n\n-----Original Message-----\n{wrapped}")
    assert (reply.text, reply.cut_by) == (REPLY, "marker")
    assert_nothing_internal(reply)


def test_finds_the_marker_behind_a_byte_order_mark_and_markdown_escapes() -> None:
    mangled = NOTIFICATION.replace(MARKER, "\ufeff\\#\\#- Reply above this line to answer the customer -\\#\\#")
    assert extract_reply(f"{REPLY}\n\n{quote(mangled)}").text == REPLY


def test_the_attribution_above_the_marker_goes_even_when_wrapped_over_three_lines() -> None:
    attribution = ("On Mon, 2 Mar 2026 at 10:00, Anne Example via Support\n"
                   "<support+k7q2m9xa-abcdefgh@example.com>\nwrote:")
    assert extract_reply(f"{REPLY}\n\n{attribution}\n\n{quote(NOTIFICATION)}").text == REPLY


def test_an_outlook_header_block_above_an_unquoted_marker_goes() -> None:
    headers = ("________________________________\nFrom: Support <support+k7q2m9xa-abcdefgh@example.com>\n"
               "Sent: Monday, March 2, 2026 10:00 AM\nTo: Alice Agent <alice@example.com>\n"
               "Subject: [K7Q2M9XA] Printer offline\n")
    reply = extract_reply(f"{REPLY}\n\n{headers}\n{NOTIFICATION}")
    assert (reply.text, reply.cut_by) == (REPLY, "marker")


def test_a_custom_attribution_right_above_the_marker_goes() -> None:
    mutt = "* Anne Example via Support <support@example.com> [2026-03-02 10:05]:"
    assert extract_reply(f"{REPLY}\n\n{mutt}\n{quote(NOTIFICATION)}").text == REPLY


def test_the_signature_above_the_marker_goes() -> None:
    text = f"{REPLY}\n\n-- \nAlice Agent\nIT Support, Example Ltd\n\n{ATTRIBUTION}\n{quote(NOTIFICATION)}"
    assert extract_reply(text).text == REPLY


def test_text_written_below_the_marker_is_never_relayed() -> None:
    reply = extract_reply(f"{ATTRIBUTION}\n{quote(NOTIFICATION)}\n\nMy answer, typed below the quote.")
    assert (reply.text, reply.cut_by) == ("", "marker")


def test_command_lines_above_the_marker_are_kept_for_the_command_parser() -> None:
    text = f"#close\n#tag printer\n\n{REPLY}\n\n{ATTRIBUTION}\n{quote(NOTIFICATION)}"
    assert extract_reply(text).text == f"#close\n#tag printer\n\n{REPLY}"


# Rule 2: quote headers, quote blocks and signatures, without the marker.

@pytest.mark.parametrize("attribution", [
    "On Mon, Mar 2, 2026 at 10:00 AM Anne Example <anne@customer.example> wrote:",
    "On Mon, Mar 2, 2026 at 10:00 AM Anne Example <\nanne@customer.example> wrote:",
    "On 2 Mar 2026, at 10:00, Anne Example\n<anne@customer.example>\nwrote:",
    "Am Mo., 2. März 2026 um 10:00 Uhr schrieb Anne Example <anne@customer.example>:",
    "Le lun. 2 mars 2026 à 10:00, Anne Example <anne@customer.example>\na écrit :",
    "El lun, 2 mar 2026 a las 10:00, Anne Example (<anne@customer.example>) escribió:",
    "Il giorno lun 2 mar 2026 alle ore 10:00 Anne Example <anne@customer.example> ha scritto:",
    "Em seg., 2 de mar. de 2026 às 10:00, Anne Example <anne@customer.example> escreveu:",
    "Op ma 2 mrt 2026 om 10:00 schreef Anne Example <anne@customer.example>:",
    "пн, 2 мар. 2026 г. в 10:00, Anne Example <anne@customer.example>:",
    "02.03.2026 10:00, Anne Example пишет:",
    "02.03.2026 10:00 пользователь Anne Example <anne@customer.example> написал(а):",
    "ma 2.3.2026 klo 10.00 Anne Example (anne@customer.example) kirjoitti:",
    "man. 2. mar. 2026 kl. 10:00 skrev Anne Example <anne@customer.example>:",
    "Den mån 2 mars 2026 kl 10:00 skrev Anne Example <anne@customer.example>:",
    "pon., 2 mar 2026 o 10:00 Anne Example <anne@customer.example> napisał(a):",
    "---- On Mon, 02 Mar 2026 10:00:00 +0100 anne@customer.example wrote ----",
], ids=["en", "en-gmail-wrap", "en-apple-wrap", "de", "fr", "es", "it", "pt", "nl", "ru-gmail", "ru-pishet",
        "ru-napisal", "fi", "da-nb", "sv", "pl", "zoho"])
def test_attribution_lines_in_many_languages_start_the_quote(attribution: str) -> None:
    for quoted in (quote("Hello, my printer says it is offline."), "Hello, my printer says it is offline."):
        reply = extract_reply(f"{REPLY}\n\n{attribution}\n\n{quoted}\n")
        assert (reply.text, reply.cut_by) == (REPLY, "quote-header")


@pytest.mark.parametrize("headers", [
    "From: Anne Example <anne@customer.example>\nSent: Monday, March 2, 2026 10:00 AM\nTo: Support\nSubject: Printer",
    "Von: Anne Example <anne@customer.example>\nGesendet: Montag, 2. März 2026 10:00\nAn: Support\nBetreff: Drucker",
    "De\u00a0: Anne Example <anne@customer.example>\nEnvoyé\u00a0: lundi 2 mars 2026 10:00\nÀ\u00a0: Support\n"
    "Objet\u00a0: Imprimante",
    "Van: Anne Example [mailto:anne@customer.example]\nVerzonden: maandag 2 maart 2026 10:00\nAan: Support\n"
    "Onderwerp: Printer",
    "Da: Anne Example <anne@customer.example>\nInviato: lunedì 2 marzo 2026 10:00\nA: Support\nOggetto: Stampante",
    "De: Anne Example <anne@customer.example>\nEnviado: lunes, 2 de marzo de 2026 10:00\nPara: Support\n"
    "Asunto: Impresora",
    "*From:* Anne Example [mailto:anne@customer.example]\n*Sent:* Monday, March 2, 2026 10:00 AM\n*To:* Support",
    "From: Human Resources\n<a-really-long-automated-email@customer.example>\nSent: Monday, March 2, 2026 4:37 PM\n"
    "To: Support",
], ids=["en", "de", "fr-nbsp", "nl", "it", "es", "en-bold", "en-wrapped-from"])
def test_outlook_header_blocks_in_many_languages_start_the_quote(headers: str) -> None:
    reply = extract_reply(f"{REPLY}\n\n{headers}\n\nHello, my printer says it is offline.\n")
    assert (reply.text, reply.cut_by) == (REPLY, "quote-header")


def test_german_outlook_header_block_is_quoted() -> None:
    text = ("Hallo Anne,\n\nbitte neu starten.\n\n-----Ursprüngliche Nachricht-----\n"
            "Von: Anne <anne@customer.example>\n"
            "Gesendet: Montag, 2. März 2026 10:00\nAn: Support\nBetreff: Drucker\n\nHallo, mein Drucker ist offline.")
    assert extract_reply(text).text == "Hallo Anne,\n\nbitte neu starten."


@pytest.mark.parametrize("separator", [
    "-----Original Message-----", "----- Original Message -----", "---------- Forwarded message ---------",
    "-------- Message d'origine --------", "-------- Oprindelig besked --------", "-----Ursprüngliche Nachricht-----",
])
def test_original_message_separators_start_the_quote(separator: str) -> None:
    assert extract_reply(f"{REPLY}\n\n{separator}\n\nHello, my printer says it is offline.").text == REPLY


def test_a_block_of_angle_bracket_quotes_is_cut() -> None:
    reply = extract_reply(f"{REPLY}\n\n> Hello, my printer says it is offline.\n> Anne\n")
    assert (reply.text, reply.stripped, reply.cut_by) == (REPLY, "> Hello, my printer says it is offline.\n> Anne",
                                                          "quote-block")


def test_an_inline_reply_keeps_the_agents_lines_and_drops_the_quotes() -> None:
    text = (f"{ATTRIBUTION}\n> Is it plugged in?\n\nYes, it is.\n\n> And the cable?\n\nAlso fine.\n\n"
            "> -- \n> Anne")
    assert extract_reply(text).text == "Yes, it is.\n\nAlso fine."


def test_quoted_lines_the_client_wrapped_without_angle_brackets_stay_with_the_quote() -> None:
    text = f"{REPLY}\n\n{ATTRIBUTION}\n> Hello, my printer says it is offline and the display shows an\nerror.\n> Anne"
    assert extract_reply(text).text == REPLY


def test_a_name_wrote_line_right_above_a_quote_goes_with_it() -> None:
    assert extract_reply(f"{REPLY}\n\nAnne Example wrote:\n> Hello, my printer says it is offline.").text == REPLY


def test_a_thunderbird_bottom_post_keeps_the_reply_below_the_quote() -> None:
    assert extract_reply(f"{ATTRIBUTION}\n> Is it plugged in?\nYes, it is.").text == "Yes, it is."


def test_the_dash_dash_space_signature_is_cut() -> None:
    reply = extract_reply(f"{REPLY}\n\n-- \nAlice Agent\nIT Support, Example Ltd\n")
    assert (reply.text, reply.stripped, reply.cut_by) == (REPLY, "-- \nAlice Agent\nIT Support, Example Ltd",
                                                          "signature")


def test_a_signature_below_the_quote_is_cut_too() -> None:
    assert extract_reply(f"{REPLY}\n\n{ATTRIBUTION}\n> Hello\n\n-- \nAlice Agent\nPhone: +49 30 1234").text == REPLY


@pytest.mark.parametrize("footer", [
    "Sent from my iPhone", "Sent from my Verizon Wireless BlackBerry", "Get Outlook for iOS<https://aka.ms/o0ukef>",
    "Get Outlook for Android", "Sent from Mail for Windows", "Sent from Yahoo Mail on Android",
    "Von meinem iPhone gesendet", "Gesendet von Outlook für Android<https://aka.ms/AAb9ysg>",
    "Envoyé de mon iPhone", "Envoyé à partir de Outlook pour iOS<https://aka.ms/o0ukef>", "Enviado desde mi iPhone",
    "Sent with Sparrow (http://www.sparrowmailapp.com/?sig)",
])
def test_mobile_footers_are_cut_with_everything_below_them(footer: str) -> None:
    reply = extract_reply(f"{REPLY}\n\n{footer}\n\nHello, my printer says it is offline.")
    assert (reply.text, reply.cut_by) == (REPLY, "signature")


@pytest.mark.parametrize("text", [
    "Here is another email\n\nSent from my desk, is much easier then my mobile phone.",
    "The notification was sent from my iPhone app to all users.\n\nThanks",
    "On the other hand, we should be careful.\nOn average, this parser works well.",
    "On your remote host you can run:\n\n     telnet 127.0.0.1 52698",
    "The data comes From: our database, not From: external sources.",
    "Times:\n2024-01-15 14:30:25\n15.01.2024 14:30\nJan 15, 2024 at 14:30",
    "And here is a fix -- this is not a signature.\n\nkthxbai",
    "Hello,\n\n-- first point\n-- second point\n\nThanks!",
    "Thanks!\n\n—\nJohn Doe\nCEO at Pandaland",
    "I wanted to discuss this with regards to the payment.\n\nRegards,\nJohn",
    "## Key Points\n----\n\n1. Faster\n\n----\n\n====\n\nDone.",
    "Check https://example.com/on-date-someone-wrote-about-parsing\nand URLs with \"wrote:\" in them.",
    "Q: Is it on?\nA: Yes.\nQ: And the cable?\nA: Also.",
    "On Monday I wrote:\n\nPlease restart it.",
    "Opening hours:\nFrom: 9:00\nTo: 17:00\nDate: every weekday\n\nBest, Alice",
])
def test_ordinary_text_that_looks_like_a_quote_or_signature_is_not_cut(text: str) -> None:
    reply = extract_reply(text)
    assert (reply.text, reply.stripped, reply.cut_by) == (text, "", "none")


def test_stripped_keeps_what_was_cut_so_a_bad_cut_can_be_undone() -> None:
    reply = extract_reply(f"{REPLY}\n\n{ATTRIBUTION}\n> Hello, my printer says it is offline.")
    assert reply.stripped == f"{ATTRIBUTION}\n> Hello, my printer says it is offline."


def test_windows_line_ends_are_understood() -> None:
    text = f"{REPLY}\n\n{ATTRIBUTION}\n\n{quote(NOTIFICATION)}".replace("\n", "\r\n")
    assert extract_reply(text).text == REPLY


# Rule 3: HTML.

NOTE_HTML = (f"<div>{MARKER}<br>Commands: start your reply with #note<br><br>PARTNER, tier 2: Anne<br>"
             "Hello, my printer says it is offline.</div>")


def test_gmail_quote_container_is_cut_and_the_text_comes_from_the_html() -> None:
    html = ('<div dir="ltr">Please restart it.<div><br></div><div>Best, Alice</div></div><br>'
            '<div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">On Mon, 2 Mar 2026 at '
            '10:00 Support &lt;s@example.com&gt; wrote:<br></div><blockquote class="gmail_quote" '
            f'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204)">{NOTE_HTML}</blockquote></div>')
    reply = extract_reply("", html)
    assert reply.text == "Please restart it.\n\nBest, Alice"
    assert reply.html == '<div dir="ltr">Please restart it.<div><br/></div><div>Best, Alice</div></div><br/>'
    assert reply.cut_by == "marker"
    assert_nothing_internal(reply)


def test_apple_mail_blockquote_type_cite_is_cut_and_text_below_it_kept() -> None:
    html = ('<div>On 2 Mar 2026, at 10:00, Support &lt;s@example.com&gt; wrote:</div>'
            '<blockquote type="cite"><div>Is it plugged in?</div></blockquote><div>Yes, it is now.</div>')
    assert extract_reply("", html).html == "<div>Yes, it is now.</div>"


def test_thunderbird_cite_prefix_and_blockquote_are_cut() -> None:
    html = ('<p>Please restart it.</p><div class="moz-cite-prefix">On 02.03.26 10:00, Support wrote:<br></div>'
            '<blockquote type="cite" cite="mid:x@example.com"><pre class="moz-quote-pre">Hello</pre></blockquote>')
    reply = extract_reply("", html)
    assert (reply.html, reply.cut_by) == ("<p>Please restart it.</p>", "html-quote")


@pytest.mark.parametrize("separator", [
    '<div id="appendonsend"></div><hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg" dir="ltr">'
    '<b>From:</b> Support<br><b>Sent:</b> Monday<br><b>To:</b> Alice<br><b>Subject:</b> Printer</div>',
    '<div id="appendonsend"></div>',
    '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in">'
    '<p><b>From:</b> Support</p></div>',
    '<div style="border:none;border-top:solid #B5C4DF 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
    '<p><b>From:</b> Support</p></div>',
    '<span id="OLK_SRC_BODY_SECTION"><div><span>From: </span>Support<br><span>Date: </span>Monday</div></span>',
    '<hr><b>From: </b>support@example.com<br><b>To: </b>alice@example.com<br><b>Sent: </b>Monday<br>',
], ids=["outlook-divRplyFwdMsg", "outlook-appendonsend", "outlook-E1E1E1", "outlook-B5C4DF", "OLK_SRC_BODY_SECTION",
        "hr-then-headers"])
def test_client_quote_markup_is_cut_with_everything_after_it(separator: str) -> None:
    html = f"<div>Please restart it.</div>{separator}<div>Hello, my printer says it is offline.</div>"
    reply = extract_reply("", html)
    assert (reply.text, reply.cut_by) == ("Please restart it.", "html-quote")
    assert "printer says" not in reply.html and "Please restart it." in reply.html


def test_yahoo_quoted_container_is_cut() -> None:
    html = ('<div>Please restart it.</div><div class="yahoo_quoted"><div>On Monday, 2 March 2026, 10:00, Support '
            'wrote:</div><div>Hello, my printer says it is offline.</div></div>')
    reply = extract_reply("", html)
    assert (reply.html, reply.cut_by) == ("<div>Please restart it.</div>", "html-quote")


def test_an_element_with_the_marker_is_cut_with_everything_after_it() -> None:
    html = f"<div>Please restart it.</div><div>{MARKER}</div><p>PARTNER, tier 2</p><p>Hello, my printer says</p>"
    reply = extract_reply("", html)
    assert (reply.html, reply.cut_by) == ("<div>Please restart it.</div>", "marker")


def test_a_borderless_indent_blockquote_is_the_agents_own_text() -> None:
    html = '<div>Steps:</div><blockquote style="margin:0 0 0 40px;border:none;padding:0px">Unplug it.</blockquote>'
    assert extract_reply("", html).html == html


def test_the_html_part_is_cut_alongside_the_text_part() -> None:
    html = f'<p>Please restart it.</p><blockquote type="cite">{NOTE_HTML}</blockquote>'
    reply = extract_reply(f"Please restart it.\n\n{quote(NOTIFICATION)}", html)
    assert (reply.text, reply.html, reply.cut_by) == ("Please restart it.", "<p>Please restart it.</p>", "marker")


def test_no_html_gives_an_empty_html_field() -> None:
    assert extract_reply(REPLY).html == ""


# Rule 4: never empty when something was written above the quote.

@pytest.mark.parametrize("below", [
    f"{ATTRIBUTION}\n{quote(NOTIFICATION)}",
    f"From: Support <s@example.com>\nSent: Monday\nTo: Alice\nSubject: x\n\n{NOTIFICATION}",
    quote("Hello, my printer says it is offline."),
    f"{ATTRIBUTION}\n\nHello, my printer says it is offline.",
    "-----Original Message-----\nHello, my printer says it is offline.",
])
def test_content_above_any_quote_is_kept(below: str) -> None:
    assert extract_reply(f"{REPLY}\n\n{below}").text == REPLY


def test_a_message_with_nothing_but_a_quote_has_no_text() -> None:
    reply = extract_reply(f"{ATTRIBUTION}\n\n{quote(NOTIFICATION)}")
    assert reply.text == "" and "PARTNER" in reply.stripped


def test_empty_mail_is_empty() -> None:
    assert extract_reply("", "") == ReplyText("", "", "", "none")


# Rule 5: fast on hostile input.

@pytest.mark.parametrize("text", [
    ("x" * 150 + ":\n") * 2000,
    "--\n" * 100_000,
    "> q\nt\n" * 50_000,
    "a \n>:\n" * 50_000,
    "On 1 Jan 2020, X <a@b.example> wrote:\n" * 10_000,
    "Sent from my X<" + "a" * 300_000,
    "-" * 300_000 + "\nx",
    "a" + " " * 300_000 + "b",
], ids=["colon-lines", "dash-lines", "interleaved", "gmail-wrap", "attributions", "footer-link", "dashes", "spaces"])
def test_hostile_plain_text_is_handled(text: str) -> None:
    # How long each takes is printed by bench/reply_stripping.py (speed is measured there, not asserted).
    reply = extract_reply(text)
    assert len(reply.text) + len(reply.stripped) <= len(text) + 2


def test_deeply_nested_html_does_not_recurse() -> None:
    reply = extract_reply("", "<div>" * 5000 + "Hi" + "</div>" * 5000)
    assert reply.text == "Hi"


# The public corpora, scored by bench/reply_stripping.py.

BENCH = Path(__file__).resolve().parents[2] / "bench" / "reply_stripping.py"
# What the corpora scored when this was written, rounded down a little; the remaining failures are
# listed by `python bench/reply_stripping.py`.
FLOORS = {"github-email_reply_parser": 0.90, "mailgun-talon": 0.85, "crisp-email-reply-parser": 0.97}


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reply_stripping", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_corpus_pass_rate_stays_at_or_above_what_was_reached(name: str) -> None:
    if not (CORPORA / name / "expected.json").is_file():
        pytest.skip(f"corpus {name} is absent from {CORPORA}")
    score = _bench().score(name, CORPORA)
    failing = "; ".join(f"{f.name}: {f.why}" for f in score.failures())
    assert score.rate >= FLOORS[name], f"{score.passed}/{score.total}: {failing}"


@pytest.mark.parametrize("name", ["pathological.txt", "email_long_quote.txt"])
def test_github_corpus_inputs_meant_to_be_slow_still_give_the_reply(name: str) -> None:
    path = CORPORA / "github-email_reply_parser" / "emails" / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    text = path.read_bytes().decode("utf-8", errors="replace")
    reply = extract_reply(text)  # Its time against the corpus's one-second limit: bench/reply_stripping.py.
    assert reply.text and ">" not in reply.text.split("\n")[0]
