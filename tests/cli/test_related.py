"""`gateway conversations related REF` finds other customers writing about the same problem; --known-issue tags them."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.models import Conversation, KnownIssue, Note
from gateway.related import cosine, tf_idf, words
from tests.helpers import deliver, make_mail

runner = CliRunner()
MAILS = [
    ("anne@a.example", "CSV export stops halfway", "Hi, since this morning the CSV export stops halfway and the "
     "downloaded file is empty. We export our orders every day. Can you help?"),
    ("bo@b.example", "Export broken?", "Hello, the export of my orders to CSV is broken: the file I download is "
     "empty after it stops halfway.\n\n> On Monday you wrote:\n> printers and invoices"),
    ("cy@c.example", "Re: empty csv file when exporting", "Our daily CSV export produces an empty file today."),
    ("dee@d.example", "Printer offline", "My printer says it is offline since I changed the router."),
    ("eve@e.example", "Wrong invoice amount", "The invoice for March charges us twice for the same seats."),
    ("anne@a.example", "CSV export still empty", "The CSV export is still empty, same problem as before."),
]


@pytest.fixture
def env(database_url, store, monkeypatch) -> dict[str, str]:  # store: the database `gateway init` made
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    return {"GATEWAY_DATABASE_URL": database_url, "COLUMNS": "200"}


@pytest.fixture
def refs(processor, store, clock) -> dict[str, str]:
    for i, (sender, subject, body) in enumerate(MAILS):
        clock.advance(hours=1)
        deliver(processor, make_mail(sender=sender, subject=subject, body=body, message_id=f"<r{i}@x>"),
                mail_from=sender)
    with store.reading() as tx:
        rows = tx.exec(select(Conversation.ref, Conversation.subject).order_by(Conversation.id)).all()
    return {subject: ref for ref, subject in rows}


def test_related_lists_other_customers_writing_about_the_same_thing_most_alike_first(env, refs):
    result = runner.invoke(app, ["conversations", "related", refs["CSV export stops halfway"], "--json"], env=env)
    assert result.exit_code == 0, result.output
    found = [json.loads(line) for line in result.output.splitlines()]
    assert [f["customer"] for f in found] == ["bo@b.example", "cy@c.example"]
    assert found[0]["score"] > found[1]["score"] >= 0.25
    assert set(found[0]) == {"score", "ref", "customer", "subject", "status", "created_at", "tags"}


def test_related_prints_a_table_or_says_how_to_widen_the_search(env, refs):
    table = runner.invoke(app, ["conversations", "related", refs["Export broken?"]], env=env)
    assert "SCORE" in table.output and refs["CSV export stops halfway"] in table.output
    # Piped into a narrow pipe: one line per conversation, nothing cut.
    narrow = runner.invoke(app, ["conversations", "related", refs["Export broken?"]], env={**env, "COLUMNS": "40"})
    lines = narrow.output.splitlines()
    assert len(lines) == 4 and "…" not in narrow.output and "Re: empty csv file when exporting" in narrow.output
    none = runner.invoke(app, ["conversations", "related", refs["Printer offline"]], env=env)
    assert none.exit_code == 0 and "try --days or a lower --min-score" in none.output


def test_known_issue_tags_the_group_and_records_when_it_became_known(env, refs, store):
    ref = refs["CSV export stops halfway"]
    result = runner.invoke(app, ["conversations", "related", ref, "--known-issue", "csv-export"], env=env)
    assert result.exit_code == 0, result.output
    assert "tagged 3 conversations with csv-export" in result.output
    with store.reading() as tx:
        tagged = {c.ref for c in tx.exec(select(Conversation)).all() if "csv-export" in c.tags}
        issue = tx.exec(select(KnownIssue)).one()
        notes = tx.exec(select(Note.body).where(Note.kind == "changed")).all()
    assert tagged == {ref, refs["Export broken?"], refs["Re: empty csv file when exporting"]}
    assert issue.name == "csv-export" and len(notes) == 3
    again = runner.invoke(app, ["conversations", "related", ref, "--known-issue", "csv-export"], env=env)
    assert again.exit_code == 0
    with store.reading() as tx:
        assert tx.exec(select(KnownIssue)).all() == [issue], "marking again keeps the first date"


@pytest.mark.parametrize(("args", "code", "message"), [
    (["NOPE1234"], 1, "no conversation 'NOPE1234'"),
    (["{ref}", "--known-issue", "two words"], 2, "a name is one word"),
    (["{ref}", "--min-score", "2"], 2, "Invalid value"),
])
def test_bad_usage_is_one_clear_line(env, refs, args, code, message):
    ref = refs["CSV export stops halfway"]
    result = runner.invoke(app, ["conversations", "related", *(a.format(ref=ref) for a in args)], env=env)
    assert result.exit_code == code and message in result.output and "Traceback" not in result.output


def test_tf_idf_scores_identical_openings_1_and_unrelated_ones_0():
    docs = [words("Export broken", "the csv export is empty"), words("Re: Export broken [#AB23CD45]",
                                                                     "the csv export is empty"),
            words("Printer", "offline since yesterday"), words("Invoice", "charged twice")]
    vectors = tf_idf(docs)
    assert cosine(vectors[0], vectors[1]) == pytest.approx(1.0)
    assert cosine(vectors[0], vectors[2]) == 0.0
