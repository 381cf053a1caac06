"""search: full-text indexes of what people wrote (PostgreSQL GIN over a tsvector, SQLite FTS5)

Revision ID: 0008_search
Revises: 0007_admin_cli
Create Date: 2026-12-04 17:00:00
"""
from alembic import op

revision = '0008_search'
down_revision = '0007_admin_cli'
branch_labels = None
depends_on = None

# Mail in and agents' replies out (gateway/search.py WRITTEN says the same for queries).
WRITTEN = "direction = 'in' OR kind = 'agent_reply'"


def _when(row: str) -> str:
    return f"{row}.direction = 'in' OR {row}.kind = 'agent_reply'"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # 'simple': no stemming or stop words, as customers write in many languages. The cap keeps a huge
        # pasted log under the tsvector size limit, so storing it can never fail.
        op.execute("CREATE INDEX ix_message_search ON message USING gin "
                   "(to_tsvector('simple', left(subject || ' ' || text, 200000))) "
                   f"WHERE {WRITTEN}")
        return
    op.execute("CREATE VIRTUAL TABLE message_search USING fts5(subject, text, content='message', "
               "content_rowid='id', tokenize='unicode61 remove_diacritics 2')")
    op.execute(f"CREATE TRIGGER message_search_insert AFTER INSERT ON message WHEN {_when('new')} BEGIN "
               "INSERT INTO message_search(rowid, subject, text) VALUES (new.id, new.subject, new.text); END")
    op.execute(f"CREATE TRIGGER message_search_delete AFTER DELETE ON message WHEN {_when('old')} BEGIN "
               "INSERT INTO message_search(message_search, rowid, subject, text) "
               "VALUES ('delete', old.id, old.subject, old.text); END")
    # One trigger, delete before insert: FTS5 must be told the old words before it learns the new ones.
    op.execute("CREATE TRIGGER message_search_update AFTER UPDATE OF subject, text, direction, kind ON message BEGIN "
               "INSERT INTO message_search(message_search, rowid, subject, text) "
               f"SELECT 'delete', old.id, old.subject, old.text WHERE {_when('old')}; "
               "INSERT INTO message_search(rowid, subject, text) "
               f"SELECT new.id, new.subject, new.text WHERE {_when('new')}; END")
    op.execute(f"INSERT INTO message_search(rowid, subject, text) SELECT id, subject, text FROM message "
               f"WHERE {WRITTEN}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_message_search")
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER message_search_{trigger}")
    op.execute("DROP TABLE message_search")
