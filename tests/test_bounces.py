"""Hard bounces: real delivery reports → the addresses that failed for good, and remembering them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

import pytest
from sqlmodel import select

from gateway.bounces import about_our_mail, record_hard_bounces, refused_recipients
from gateway.delivery_report import read_report
from gateway.message import parse
from gateway.models import Customer
from gateway.store import Store
from tests.helpers import CORPORA, MAIL

CREATED = datetime(2026, 1, 5, tzinfo=UTC)


def failed(raw: bytes) -> tuple[str, ...]:
    """The addresses an RFC 3464 report at the top of the mail says failed permanently; () for anything else."""
    msg = parse(raw)
    report = read_report(msg, raw) if msg.content_type == "multipart/report" else None
    if report is None or not report.standard:
        return ()
    return tuple(dict.fromkeys(p.address for p in report.problems if p.permanent and p.address))


def bounced_addresses(tx, msg, raw, rcpt_tos, secret) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    facts = about_our_mail(tx, msg, raw, rcpt_tos, secret)
    return facts.suppress if facts else ()


# The same table as tests/mail/bounces/README.md, which says where each sample comes from.
CASES = [
    ("bounces/lhost-postfix-01.eml", ("kijitora@example.org",)),
    ("bounces/lhost-postfix-01.crlf.eml", ("kijitora@example.org",)),
    ("bounces/lhost-postfix-02.eml", ("filtered@example.co.jp", "userunknown@example.co.jp")),
    ("bounces/lhost-postfix-05.eml", ()),
    ("bounces/lhost-exim-29.eml", ("kijitora@example.co.jp",)),
    ("bounces/lhost-exim-44.eml", ()),
    ("bounces/lhost-exim-01.eml", ()),
    ("bounces/rhost-gsuite-14.eml", ("libsisimai-2@googlegroups.com",)),
    ("bounces/rhost-gsuite-06.eml", ()),
    ("bounces/lhost-gmail-01.eml", ()),
    ("bounces/lhost-office365-11.eml", ("kijitora@cr3.neko.nyaan.jp",)),
    ("bounces/lhost-exchange2007-01.eml", ("mikeneko@example.co.jp",)),
    ("bounces/lhost-outlook-04.eml", ("sabineko@example.co.jp", "mikeneko@example.co.jp")),
    ("bounces/lhost-outlook-06.eml", ()),
    ("bounces/lhost-outlook-07.eml", ()),
    ("bounces/rfc3464-07.eml", ()),
    ("bounces/rfc3464-28.eml", ()),
    ("bounces/lhost-sendmail-13.eml", ()),
    ("postfix_dsn.eml", ("anne.berger@customer.example",)),
    ("exim_bounce.eml", ()),
    ("outlook_ooo.eml", ()),
    ("read_receipt.eml", ()),
    ("feedback_report.eml", ()),
]


@pytest.mark.parametrize(("sample", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_delivery_report_yields_exactly_the_recipients_that_failed_for_good(sample, expected) -> None:
    assert failed((MAIL / sample).read_bytes()) == expected


def test_addresses_come_back_lower_cased() -> None:
    raw = (MAIL / "postfix_dsn.eml").read_bytes().replace(b"rfc822;anne.berger@customer.example",
                                                          b"RFC822; <Anne.Berger@Customer.EXAMPLE>")
    assert failed(raw) == ("anne.berger@customer.example",)


def test_a_bounce_forwarded_as_an_attachment_marks_nobody() -> None:
    # A customer asking "why did this bounce?" must not get their correspondent marked as dead.
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "anne@customer.example", "support@example.com", "Fwd: bounce?"
    mail.set_content("Why did this come back?\n")
    mail.add_attachment((MAIL / "postfix_dsn.eml").read_bytes(), maintype="message", subtype="rfc822")
    assert failed(mail.as_bytes(policy=SMTP_POLICY)) == ()


def test_sisimai_corpus_never_raises_and_line_ends_do_not_matter() -> None:
    folder = CORPORA / "sisimai-set-of-emails" / "maildir"
    if not folder.is_dir():
        pytest.skip(f"public corpus sisimai-set-of-emails not found at {folder}")
    results = {path.relative_to(folder): failed(path.read_bytes()) for path in sorted(folder.rglob("*.eml"))}
    assert sum(1 for r in results.values() if r) > 300, "most of the corpus is DSNs with a permanent failure"
    for path, addresses in results.items():
        assert all("@" in a and a == a.lower() and not any(c.isspace() for c in a) for a in addresses), path
        # maildir/dos and maildir/mac hold CRLF and CR twins of maildir/bsd.
        if path.parts[0] in ("dos", "mac") and (lf := Path("bsd", *path.parts[1:])) in results:
            assert addresses == results[lf], path


@pytest.mark.parametrize(("rcpt_tos", "detail", "expected"), [
    (["Anne@Customer.example"], "550 5.1.1 <anne@customer.example>: Recipient address rejected",
     ("anne@customer.example",)),
    (["anne@customer.example"], "550 5.1.10 Recipient address has null MX", ("anne@customer.example",)),
    (["anne@customer.example"], "550 5.2.1 Mailbox disabled", ("anne@customer.example",)),
    (["anne@customer.example"], "550 5.1.0 Sender address rejected: Domain not found", ()),
    (["anne@customer.example"], "554 5.7.1 Message rejected as spam", ()),
    (["anne@customer.example"], "553 5.1.8 Sender address rejected: domain not found", ()),
    (["anne@customer.example"], "550 5.7.1 Client does not have permissions to send as this sender", ()),
    (["anne@customer.example"], "552 5.3.4 Message size exceeds fixed limit", ()),
    (["anne@customer.example"], "550 Requested action not taken", ()),
    (["anne@customer.example", "joanne@customer.example"], "550 5.1.1 <joanne@customer.example>: unknown",
     ("joanne@customer.example",)),
    (["anne@customer.example", "bob@customer.example"], "550 5.1.1 no such user", ()),
], ids=["5.1.1", "null-mx", "disabled", "5.1.0-sender", "spam", "sender", "send-as", "size", "no-enhanced-code", "names-one",
        "names-none"])
def test_a_relay_refusal_counts_only_when_it_is_about_the_recipient(rcpt_tos, detail, expected) -> None:
    assert refused_recipients(rcpt_tos, detail) == expected


def _customers(store: Store, *addresses: str) -> None:
    with store.transaction() as tx:
        for address in addresses:
            tx.add(Customer(address=address, created_at=CREATED))


def _bounced(store: Store) -> dict[str, datetime | None]:
    with store.reading() as tx:
        return {c.address: c.bounced_at for c in tx.exec(select(Customer)).all()}


def test_record_hard_bounces_marks_matching_customers_only(store, clock) -> None:
    _customers(store, "anne.berger@customer.example", "bob@customer.example")
    with store.transaction() as tx:
        assert record_hard_bounces(tx, ["Anne.Berger@Customer.example", "stranger@else.example"], clock()) == 1
    assert _bounced(store) == {"anne.berger@customer.example": clock(), "bob@customer.example": None}


def test_a_later_bounce_moves_the_date_on_and_an_older_one_does_not_move_it_back(store, clock) -> None:
    _customers(store, "anne@customer.example")
    with store.transaction() as tx:
        record_hard_bounces(tx, ["anne@customer.example"], clock())
    with store.transaction() as tx:
        assert record_hard_bounces(tx, ["anne@customer.example"], clock() - timedelta(days=1)) == 0
    assert _bounced(store)["anne@customer.example"] == clock()
    with store.transaction() as tx:
        assert record_hard_bounces(tx, ["anne@customer.example"], clock() + timedelta(days=3)) == 1
    assert _bounced(store)["anne@customer.example"] == clock() + timedelta(days=3)


def test_no_addresses_is_nothing_to_do(store, clock) -> None:
    with store.transaction() as tx:
        assert record_hard_bounces(tx, [], clock()) == 0
        assert record_hard_bounces(tx, [" "], clock()) == 0


def test_a_dsn_from_the_store_marks_its_customer(store, clock) -> None:
    _customers(store, "anne.berger@customer.example")
    raw = (MAIL / "postfix_dsn.eml").read_bytes()
    with store.transaction() as tx:
        assert record_hard_bounces(tx, failed(raw), clock()) == 1
    assert _bounced(store) == {"anne.berger@customer.example": clock()}


def test_only_a_report_about_mail_we_sent_marks_anyone(store) -> None:
    from gateway.reply_token import make_message_id
    from tests.conftest import SECRET

    raw = (MAIL / "postfix_dsn.eml").read_bytes()
    ours = make_message_id(SECRET, "K7Q2M9XA", "example.com").encode()
    forged = raw.replace(b"<k7m2qx9p.mzxw6ytb.5e6f7a8b1a2b3c4d@example.com>", b"<whatever@elsewhere.example>")
    genuine = raw.replace(b"<k7m2qx9p.mzxw6ytb.5e6f7a8b1a2b3c4d@example.com>", ours)
    with store.reading() as tx:
        # A report naming a customer, but about nothing we sent: anyone could write it to silence them.
        assert bounced_addresses(tx, parse(forged), forged, ("support@example.com",), SECRET) == ()
        assert bounced_addresses(tx, parse(genuine), genuine, ("support@example.com",), SECRET) == (
            "anne.berger@customer.example",)


def test_a_plain_text_delay_warning_to_a_verp_address_is_not_a_hard_bounce(store) -> None:
    from gateway.reply_token import bounce_address
    from tests.conftest import SECRET

    verp = bounce_address(SECRET, "support@example.com", "K7Q2M9XA")
    warning = (b"From: MAILER-DAEMON@mx.customer.example\r\nTo: " + verp.encode() + b"\r\n"
               b"Subject: Delivery delayed\r\n\r\nYour message has not been delivered yet; we will keep trying "
               b"for 4 more days.\r\n")
    with store.reading() as tx:
        assert bounced_addresses(tx, parse(warning), warning, (verp,), SECRET) == ()
