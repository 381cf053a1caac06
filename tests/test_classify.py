"""Stage 3, classify: who wrote this mail, judged on real samples and public corpora."""

from __future__ import annotations

import json

import pytest

from gateway.classify import SenderKind, classify
from gateway.config import Settings, replace
from gateway.message import ParsedMessage, parse
from gateway.reply_token import make_message_id
from tests.helpers import CORPORA, load_raw, make_mail

SECRET = "test-secret"
SETTINGS = replace(Settings(), mail={"addresses": ("support@example.com", "billing@example.com")})
AGENTS = frozenset({"tom@example.com", "lena@example.com"})


def classify_mail(msg: ParsedMessage, envelope_from: str | None = None, *, settings: Settings = SETTINGS):
    return classify(msg, envelope_from, ("support@example.com",), settings, SECRET, AGENTS)


def envelope_from(msg: ParsedMessage) -> str:
    """The envelope sender as the delivering MTA wrote it into Return-Path ('' for a bounce's <>)."""
    return msg.header("return-path").strip().strip("<>")


CASES = [
    ("gmail_new_request.eml", SenderKind.CUSTOMER),
    ("outlook_ooo.eml", SenderKind.AUTO_REPLY),
    ("german_ooo_subject_only.eml", SenderKind.AUTO_REPLY),
    ("postfix_dsn.eml", SenderKind.BOUNCE),
    ("exim_bounce.eml", SenderKind.BOUNCE),
    ("mailman_list_post.eml", SenderKind.BULK),
    ("noreply_notification.eml", SenderKind.BULK),
    ("feedback_report.eml", SenderKind.FEEDBACK),
    ("read_receipt.eml", SenderKind.AUTO_REPLY),
    ("human_with_auto_submitted_no.eml", SenderKind.CUSTOMER),
    ("broken_mime.eml", SenderKind.CUSTOMER),
    ("windows1252_undeclared.eml", SenderKind.CUSTOMER),
    ("html_only.eml", SenderKind.CUSTOMER),
    ("with_attachment.eml", SenderKind.CUSTOMER),
]


@pytest.mark.parametrize(("sample", "expected"), CASES, ids=[c[0] for c in CASES])
def test_classify_recognises_sample_mail(sample, expected):
    msg = parse(load_raw(sample))
    assert classify_mail(msg, envelope_from(msg)).kind is expected


@pytest.mark.parametrize(("sample", "expected"), CASES, ids=[c[0] for c in CASES])
def test_classify_needs_no_envelope_to_recognise_sample_mail(sample, expected):
    assert classify_mail(parse(load_raw(sample)), None).kind is expected


def test_classify_treats_a_null_envelope_sender_as_a_bounce():
    sender = classify_mail(parse(make_mail(subject="Your message")), "")
    assert sender.kind is SenderKind.BOUNCE


def test_classify_lets_auto_submitted_no_outweigh_an_out_of_office_subject():
    msg = parse(load_raw("human_with_auto_submitted_no.eml"))
    assert msg.subject.startswith("Out of office")
    assert classify_mail(msg).is_customer


def _sisimai() -> list[dict[str, str]]:
    labels = CORPORA / "sisimai-set-of-emails" / "labels.json"
    if not labels.is_file():
        pytest.skip(f"sisimai-set-of-emails corpus not found at {labels.parent}")
    return json.loads(labels.read_text())["files"]


def _classify_file(folder: str, name: str):
    msg = parse((CORPORA / folder / name).read_bytes())
    return classify_mail(msg, None)


def test_classify_never_takes_sisimai_machine_mail_for_a_person():
    files = [f for f in _sisimai() if f["gateway_class"] != "human"]
    wrong = [f"{f['file']} ({f['gateway_class']}) -> customer"
             for f in files if not _classify_file("sisimai-set-of-emails", f["file"]).is_machine]
    assert len(files) == 830
    assert wrong == []


def test_classify_takes_sisimai_human_mail_for_a_customer():
    files = [f["file"] for f in _sisimai() if f["gateway_class"] == "human"]
    kinds = {name: _classify_file("sisimai-set-of-emails", name).kind for name in files}
    assert kinds == dict.fromkeys(files, SenderKind.CUSTOMER)
    assert len(kinds) == 2


def test_classify_names_nearly_every_sisimai_bounce_a_bounce():
    files = [f["file"] for f in _sisimai() if f["gateway_class"] == "bounce"]
    senders = {name: _classify_file("sisimai-set-of-emails", name) for name in files}
    others = sorted(f"{name} -> {sender.kind} ({sender.reason})"
                    for name, sender in senders.items() if sender.kind is not SenderKind.BOUNCE)
    # All are machine mail (the test above); a few arrive as no-reply notices or list mail, which is just as safe.
    assert all(sender.is_machine for sender in senders.values())
    assert len(others) / len(files) <= 0.03, "\n".join(others)


def test_classify_recognises_mikel_mail_delivery_reports_as_machine_mail():
    labels = CORPORA / "mikel-mail" / "labels.json"
    if not labels.is_file():
        pytest.skip(f"mikel-mail corpus not found at {labels.parent}")
    files = [name for name, label in json.loads(labels.read_text())["files"].items()
             if label["gateway_class"] == "bounce"]
    kinds = {name: _classify_file("mikel-mail", name).kind for name in files}
    assert len(kinds) == 5
    assert kinds == dict.fromkeys(files, SenderKind.BOUNCE)


# (allow-list entry, sample): the entry makes an automatic-looking sender a customer again.
ALLOWED = [
    ("noreply@service.example", "noreply_notification.eml"),
    ("@service.example", "noreply_notification.eml"),
    ("mark@tanaka.example", "mailman_list_post.eml"),
    ("h.schneider@schneider-steuerberatung.example", "german_ooo_subject_only.eml"),
]


@pytest.mark.parametrize(("entry", "sample"), ALLOWED, ids=[c[0] for c in ALLOWED])
def test_classify_allow_list_overrides_an_automatic_looking_sender(entry, sample):
    msg = parse(load_raw(sample))
    assert classify_mail(msg).is_machine
    allowing = replace(SETTINGS, classify={"allow": (entry,)})
    sender = classify_mail(msg, settings=allowing)
    assert sender.kind is SenderKind.CUSTOMER
    assert sender.reason == "allow-listed"


def test_classify_allow_list_does_not_reach_other_senders():
    allowing = replace(SETTINGS, classify={"allow": ("vip@service.example", "@other.example")})
    assert classify_mail(parse(load_raw("noreply_notification.eml")), settings=allowing).kind is SenderKind.BULK


# (From header): mail that we wrote ourselves, coming back.
OWN = [
    "Support <support@example.com>",
    "SUPPORT@EXAMPLE.COM",
    "Billing <billing@example.com>",
    "Support <support+k7m2qx9p-abcdefgh@example.com>",
]


@pytest.mark.parametrize("sender", OWN)
def test_classify_marks_mail_from_our_own_support_address_as_own(sender):
    assert classify_mail(parse(make_mail(sender=sender))).kind is SenderKind.OWN


def test_classify_marks_our_own_message_id_coming_back_as_own():
    raw = make_mail(sender="Forwarder <fwd@customer.example>", message_id=make_message_id(SECRET, "K7M2QX9P",
                                                                                          "example.com"))
    assert classify_mail(parse(raw)).kind is SenderKind.OWN


ALLOW_EXAMPLE = replace(SETTINGS, classify={"allow": ("@customer.example", "@example.com")})


def test_the_allow_list_overrides_a_ticketing_tools_auto_generated_mail():
    tool = parse(make_mail(Auto_Submitted="auto-generated", Precedence="bulk"))
    assert classify_mail(tool).is_machine
    assert classify_mail(tool, "anne@customer.example", settings=ALLOW_EXAMPLE).kind is SenderKind.CUSTOMER


@pytest.mark.parametrize(("envelope", "headers"), [
    ("", {}),  # a null return path: RFC 3834 forbids answering it
    ("anne@customer.example", {"Auto_Submitted": "auto-replied"}),
    ("anne@customer.example", {"Subject": "Out of office", "Precedence": "bulk", "Return_Path": "<>"}),
    ("anne@customer.example", {"X_Failed_Recipients": "bob@x.example"}),
], ids=["null sender", "auto-replied", "soft signals and Return-Path <>", "X-Failed-Recipients"])
def test_no_allow_list_entry_makes_proven_machine_mail_a_persons(envelope, headers):
    subject = headers.pop("Subject", "Printer offline")
    msg = parse(make_mail(subject=subject, **headers))
    assert classify_mail(msg, envelope, settings=ALLOW_EXAMPLE).is_machine


def test_an_allow_listed_agents_out_of_office_stays_machine_mail():
    ooo = parse(make_mail(sender="Tom Berg <tom@example.com>", subject="Automatic reply: Printer offline",
                          Auto_Submitted="auto-replied"))
    assert classify_mail(ooo, "", settings=ALLOW_EXAMPLE).kind is SenderKind.AUTO_REPLY
    reply = parse(make_mail(sender="Tom Berg <tom@example.com>", subject="Re: Printer offline"))
    assert classify_mail(reply, "tom@example.com", settings=ALLOW_EXAMPLE).kind is SenderKind.AGENT


FORMS = replace(SETTINGS, classify={"forms": ("wordpress@shop.example", "@forms.example")})


@pytest.mark.parametrize("entry", ["wordpress@shop.example", "@shop.example", "WordPress@Shop.example"])
def test_contact_form_mail_is_the_visitors_when_the_form_is_configured(entry):
    msg = parse(load_raw("contact_form_wordpress.eml"))
    sender = classify_mail(msg, envelope_from(msg), settings=replace(SETTINGS, classify={"forms": (entry,)}))
    assert (sender.kind, sender.address, sender.name) == (SenderKind.CUSTOMER, "anne@customer.example",
                                                          "Anne Example")
    assert sender.reason == "contact form wordpress@shop.example"


def test_contact_form_mail_from_a_form_nobody_configured_is_the_forms_own():
    msg = parse(load_raw("contact_form_wordpress.eml"))
    assert classify_mail(msg).address == "wordpress@shop.example"


def test_a_configured_no_reply_form_speaks_for_its_visitor_though_its_own_address_looks_automatic():
    form = make_mail(sender="Forms <no-reply@forms.example>", Reply_To="=?utf-8?q?Ren=C3=A9?= <rene@x.example>",
                     Auto_Submitted="auto-generated")
    assert classify_mail(parse(form)).kind is SenderKind.AUTO_REPLY
    sender = classify_mail(parse(form), settings=FORMS)
    assert (sender.kind, sender.address, sender.name) == (SenderKind.CUSTOMER, "rene@x.example", "René")


def test_a_configured_form_does_not_make_proof_of_a_machine_a_visitors_mail():
    form = parse(make_mail(sender="Forms <no-reply@forms.example>", Reply_To="rene@x.example"))
    assert classify_mail(form, "", settings=FORMS).is_machine  # a null return path: RFC 3834


@pytest.mark.parametrize("reply_to", ["", "support@example.com", "Support <support+abc@example.com>",
                                      "noreply@x.example", "mailer-daemon@x.example", "list-owner@x.example"])
def test_a_form_without_a_persons_reply_to_is_classified_as_any_other_mail(reply_to):
    headers = {"Reply_To": reply_to} if reply_to else {}
    form = parse(make_mail(sender="Forms <no-reply@forms.example>", **headers))
    assert classify_mail(form, settings=FORMS).kind is SenderKind.BULK


def test_a_reply_to_only_counts_on_mail_from_a_configured_form():
    msg = parse(make_mail(sender="Newsletter <noreply@news.example>", Reply_To="editor@news.example"))
    assert classify_mail(msg, settings=FORMS).kind is SenderKind.BULK
    person = parse(make_mail(Reply_To="someone.else@customer.example"))
    assert classify_mail(person, settings=FORMS).address == "anne@customer.example"


def test_classify_marks_our_loop_header_as_own():
    raw = make_mail(sender="Anne Example <anne@customer.example>", X_Gateway_Loop="support@example.com")
    assert classify_mail(parse(raw)).kind is SenderKind.OWN


def test_classify_marks_an_address_in_the_agents_set_as_agent():
    sender = classify_mail(parse(make_mail(sender="Tom Berg <tom@example.com>", subject="Re: Printer offline")))
    assert sender.kind is SenderKind.AGENT
    assert not sender.is_machine and not sender.is_customer


def test_classify_takes_an_agent_address_on_another_domain_for_a_customer():
    sender = classify_mail(parse(make_mail(sender="Tom Berg <tom@private.example>")))
    assert sender.kind is SenderKind.CUSTOMER


def test_classify_finds_the_channel_from_the_envelope_then_the_headers():
    msg = parse(make_mail(to="Billing <billing@example.com>"))
    assert classify(msg, None, ("billing+x@example.com",), SETTINGS, SECRET, AGENTS).channel == "billing@example.com"
    assert classify(msg, None, (), SETTINGS, SECRET, AGENTS).channel == "billing@example.com"
    other = parse(make_mail(to="someone@elsewhere.example"))
    assert classify(other, None, (), SETTINGS, SECRET, AGENTS).channel == "support@example.com"


def test_an_agents_out_of_office_reply_is_machine_mail_not_an_agent_reply():
    ooo = parse(make_mail(sender="Alice <alice@example.com>", subject="Automatic reply: Printer offline",
                          Auto_Submitted="auto-replied"))
    sender = classify(ooo, "", ("support@example.com",), Settings(), "s", frozenset({"alice@example.com"}))
    assert sender.kind is SenderKind.AUTO_REPLY
