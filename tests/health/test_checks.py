"""Each doctor check against the real thing: real sockets, real SMTP servers with and without STARTTLS."""

from __future__ import annotations

from collections import namedtuple
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller

from gateway.config import Settings, replace
from gateway.health.config import check_config
from gateway.health.disk import check_disk
from gateway.health.forms import check_contact_forms, likely_forms
from gateway.health.relay import check_relay
from gateway.health.smtp_listen import check_smtp_listen
from gateway.health.surveys import check_survey_links
from gateway.health.templates import check_saved_replies, check_templates
from gateway.models import TemplateVersion
from tests.conftest import SinkHandler
from tests.helpers import FixedClock, conversations, deliver, free_port, make_mail


def lines(findings) -> list[tuple[str, str]]:
    return [("warn" if f.warning else "ok" if f.ok else "FAIL", f.detail) for f in findings]


def test_config_warns_about_example_values_and_a_weak_secret():
    found = lines(check_config(replace(Settings(), mail={"secret": "secret"})))
    assert found[0][0] == "ok" and found[0][1].startswith("loaded")
    assert [level for level, _ in found[1:]] == ["warn", "warn", "warn", "warn"]
    assert "example.com" in found[1][1] and "well-known word" in found[2][1] and "admins" in found[3][1]
    assert "authserv_id is empty" in found[4][1] and "in that agent's name" in found[4][1]


def test_a_real_looking_config_has_no_warnings():
    settings = replace(Settings(), mail={"domain": "acme.test", "addresses": ("help@acme.test",),
                                         "admins": ("ops@acme.test",), "secret": "x" * 40},
                       authentication={"authserv_id": "mx.acme.test"})
    assert [level for level, _ in lines(check_config(settings))] == ["ok"]


def test_smtp_listen_on_a_free_port_is_fine(settings):
    (finding,) = check_smtp_listen(replace(settings, smtp={"port": free_port()}))
    assert finding.ok and "free" in finding.detail


def test_smtp_listen_recognises_our_own_gateway_on_the_port(settings, smtp_gateway):
    (finding,) = check_smtp_listen(replace(settings, smtp={"port": smtp_gateway.port}))
    assert finding.ok and "our gateway is listening" in finding.detail


def test_smtp_listen_names_another_program_on_the_port(settings):
    other = Controller(SinkHandler(), hostname="127.0.0.1", port=free_port(), ident="Postfix")
    other.start()
    try:
        (finding,) = check_smtp_listen(replace(settings, smtp={"port": other.port}))
    finally:
        other.stop()
    assert not finding.ok and "taken by another program" in finding.detail and "Postfix" in finding.detail
    assert "[smtp] port" in finding.fix


def test_smtp_listen_on_an_address_this_machine_lacks_fails_with_the_fix(settings):
    (finding,) = check_smtp_listen(replace(settings, smtp={"host": "192.0.2.1", "port": free_port()}))
    assert not finding.ok and "[smtp] host" in finding.fix


def test_relay_that_answers_is_fine(settings, relay_sink):
    (finding,) = check_relay(replace(settings, relay={"port": relay_sink.port}))
    assert finding.ok and not finding.warning and "answers" in finding.detail


def test_relay_that_nobody_listens_on_fails_with_the_fix(settings):
    (finding,) = check_relay(replace(settings, relay={"port": free_port()}))
    assert not finding.ok and "cannot reach" in finding.detail and "outbox" in finding.fix


@pytest.fixture
def tls_relay(tls_files):
    import ssl
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    controller = Controller(SinkHandler(), hostname="127.0.0.1", port=free_port(), tls_context=context)
    controller.start()
    yield controller
    controller.stop()


def test_relay_starttls_verified_with_the_configured_ca(settings, tls_relay, tls_files):
    relay = {"port": tls_relay.port, "starttls": True, "ca_file": tls_files[0]}
    (finding,) = check_relay(replace(settings, relay=relay))
    assert finding.ok and "STARTTLS verified" in finding.detail


def test_relay_certificate_not_trusted_without_the_ca(settings, tls_relay):
    (finding,) = check_relay(replace(settings, relay={"port": tls_relay.port, "starttls": True}))
    assert not finding.ok and "not trusted" in finding.detail and "[relay] ca_file" in finding.fix


def test_relay_without_starttls_when_it_is_required(settings, relay_sink):
    (finding,) = check_relay(replace(settings, relay={"port": relay_sink.port, "starttls": True}))
    assert not finding.ok and "does not offer STARTTLS" in finding.detail


def test_relay_ca_file_that_does_not_exist(settings, relay_sink, tmp_path):
    relay = {"port": relay_sink.port, "starttls": True, "ca_file": str(tmp_path / "nope.pem")}
    (finding,) = check_relay(replace(settings, relay=relay))
    assert not finding.ok and "does not exist" in finding.detail


def test_templates_shipped_are_valid(settings, store):
    (finding,) = check_templates(settings)
    assert finding.ok and "templates valid" in finding.detail


def test_a_saved_template_that_no_longer_validates_is_named_with_the_fix(settings, store):
    with store.transaction() as tx:
        tx.add(TemplateVersion(name="acknowledgement", version=1, subject="Re: {{ subject }}",
                               text="Hello {{ nickname }}", created_at=FixedClock()()))
    found = [f for f in check_templates(settings) if not f.ok]
    assert len(found) == 1 and found[0].detail.startswith("acknowledgement (database version 1")
    assert "'nickname' is not a variable" in found[0].detail and "rollback acknowledgement 0" in found[0].fix


def test_saved_replies_that_render_are_fine_and_a_broken_one_is_named(tmp_path):
    folder = tmp_path / "replies"
    settings = replace(Settings(), agents={"saved_replies": str(folder)})
    assert lines(check_saved_replies(settings)) == [
        ("FAIL", f"[agents] saved_replies folder {folder} does not exist")]
    folder.mkdir()
    (folder / "thanks.txt").write_text("Hi {{ customer_name }},\n\nThanks, {{ agent_name }}")
    assert lines(check_saved_replies(settings)) == [("ok", f"saved replies in {folder}: 1 found, each renders")]
    (folder / "reset.txt").write_text("Hi {{ customer_name }}, see {{ link }}")
    (folder / "old.txt").write_bytes("Grüße".encode("latin-1"))
    old, reset = [f for f in check_saved_replies(settings) if not f.ok]  # in file name order
    assert reset.detail == "reset.txt: unknown variable link (known: customer_name, agent_name, ref, subject)"
    assert old.detail == "old.txt: cannot be read as UTF-8 text (UnicodeDecodeError)"
    assert str(folder / "reset.txt") in reset.fix
    assert old.fix.startswith("save it as UTF-8, e.g. iconv -f latin1 -t utf-8")
    assert list(check_saved_replies(Settings())) == []  # no folder configured: nothing to check


@pytest.mark.parametrize(("name", "text", "says"), [
    ("include.txt", 'Hi {% include "x" %}', "include.txt: does not render: no loader for this environment specified"),
    ("empty.txt", "", "empty.txt: does not render: it is empty"),
    ("blank.txt", "{% if false %}x{% endif %}\n", "blank.txt: does not render: it is empty"),
    ("Thanks.txt", "Hi", "thanks.txt: #template thanks names Thanks.txt too (names ignore case)"),
])
def test_a_saved_reply_that_would_fail_an_agent_is_named(tmp_path, name, text, says):
    folder = tmp_path / "replies"
    folder.mkdir()
    (folder / "thanks.txt").write_text("Hi {{ customer_name }},")
    (folder / name).write_text(text)
    assert [f.detail for f in check_saved_replies(replace(Settings(), agents={"saved_replies": str(folder)}))
            if not f.ok] == [says]


def test_a_file_that_is_not_a_saved_reply_is_a_warning(tmp_path):
    folder = tmp_path / "replies"
    folder.mkdir()
    (folder / "notes.md").write_text("ideas")
    (folder / "Good.TXT").write_text("Hi")
    assert lines(check_saved_replies(replace(Settings(), agents={"saved_replies": str(folder)}))) == [
        ("warn", "Good.TXT is not read: saved replies are NAME.txt files"),
        ("warn", "notes.md is not read: saved replies are NAME.txt files"),
        ("ok", f"saved replies in {folder}: 0 found, each renders")]


def test_disk_space_is_reported_for_the_store(settings, store):
    (finding,) = check_disk(settings)
    assert finding.ok and "GiB free" in finding.detail


def test_too_little_disk_space_fails_and_little_warns(settings, store, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr("shutil.disk_usage", lambda _path: usage(100 * 1024**3, 0, 512 * 1024**2))
    (finding,) = check_disk(settings)
    assert not finding.ok and "0.5 GiB free" in finding.detail
    monkeypatch.setattr("shutil.disk_usage", lambda _path: usage(100 * 1024**3, 0, 3 * 1024**3))
    (finding,) = check_disk(settings)
    assert finding.ok and finding.warning


def test_surveys_without_a_public_url_fail_with_the_fix():
    (finding,) = check_survey_links(Settings())
    assert not finding.ok and not finding.warning
    assert "[web] public_url is empty, so no survey is sent" in finding.detail
    assert finding.fix.startswith("set [web] public_url to the address your reverse proxy serves")


@pytest.mark.parametrize(("web", "surveys", "ok", "says"), [
    ({}, {"enabled": False}, True, "surveys are off"),
    ({"public_url": "https://support.example.com/"}, {}, True, "links in surveys point to https://support.example.com"),
    ({"public_url": "http://support.example.com/"}, {}, False, "only offer one-click opt-out (RFC 8058) over https"),
])
def test_survey_links_are_fine_when_off_or_public_over_https(web, surveys, ok, says):
    (finding,) = check_survey_links(replace(Settings(), web=web, surveys=surveys))
    assert finding.ok is ok and says in finding.detail


def _form_mail(n: int, sender: str, reply_to: str) -> bytes:
    return make_mail(sender=sender, Reply_To=reply_to, subject=f"Contact form: question {n}", message_id=f"<f{n}@x>")


def test_doctor_warns_about_a_sender_whose_bulk_mail_speaks_for_different_people(settings, processor, store, clock):
    for n, visitor in enumerate(["anne@a.example", "bert@b.example", "anne@a.example"]):
        deliver(processor, _form_mail(n, "Shop <no-reply@shop.example>", visitor))
    for n in (10, 11):  # A newsletter names the same editor every time: not a form.
        deliver(processor, _form_mail(n, "News <noreply@news.example>", "editor@news.example"))
    assert conversations(store) == []
    assert likely_forms(settings, store, clock()) == {"no-reply@shop.example": {"anne@a.example", "bert@b.example"}}
    listed_already = replace(settings, classify={"forms": ("@shop.example",)})
    assert likely_forms(listed_already, store, clock()) == {}
    assert likely_forms(settings, store, clock() + timedelta(days=31)) == {}


def test_the_contact_form_check_is_a_warning_naming_the_fix(settings, processor, clock):
    clock.now = datetime.now(UTC)
    for n, visitor in enumerate(["anne@a.example", "bert@b.example"]):
        deliver(processor, _form_mail(n, "Shop <no-reply@shop.example>", visitor))
    [finding] = check_contact_forms(settings)
    assert finding.warning and "no-reply@shop.example" in finding.detail and "2 different people" in finding.detail
    assert 'forms = ["no-reply@shop.example"]' in finding.fix
    [fine] = check_contact_forms(replace(settings, classify={"forms": ("no-reply@shop.example",)}))
    assert fine.ok and not fine.warning
