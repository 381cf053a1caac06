"""search words stored: on PostgreSQL a generated tsvector column, indexed, instead of an expression index

An expression index leaves PostgreSQL to re-parse every candidate message's text when it rechecks a match (a
common word, a phrase, or a bitmap too large for work_mem), seconds per query on a million messages; a stored
tsvector is read, not parsed. SQLite keeps its FTS5 table.

Revision ID: 0010_search_words
Revises: 0009_raw_files
Create Date: 2026-12-04 19:00:00
"""
from alembic import op

revision = '0010_search_words'
down_revision = '0009_raw_files'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_message_search")
    # Mail in and agents' replies out only (gateway/search.py says why); 'simple' and the cap as in 0008.
    op.execute("ALTER TABLE message ADD COLUMN search_words tsvector GENERATED ALWAYS AS (CASE WHEN "
               "direction = 'in' OR kind = 'agent_reply' THEN to_tsvector('simple', left(subject || ' ' || text, "
               "200000)) END) STORED")
    op.execute("CREATE INDEX ix_message_search_words ON message USING gin (search_words)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_message_search_words")
    op.execute("ALTER TABLE message DROP COLUMN search_words")
    op.execute("CREATE INDEX ix_message_search ON message USING gin "
               "(to_tsvector('simple', left(subject || ' ' || text, 200000))) "
               "WHERE direction = 'in' OR kind = 'agent_reply'")
