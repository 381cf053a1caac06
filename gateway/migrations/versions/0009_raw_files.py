"""raw files and retention: raw_message.spool (the file holding the bytes) and purged_at

Revision ID: 0009_raw_files
Revises: 0008_search
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0009_raw_files'
down_revision = '0008_search'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('raw_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('spool', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('purged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_raw_message_spool', ['spool'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_created', ['created_at'], unique=False)
    with op.batch_alter_table('raw_message', schema=None) as batch_op:
        batch_op.create_index('ix_raw_message_received', ['received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('raw_message', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_message_received')
        batch_op.drop_index('ix_raw_message_spool')
        batch_op.drop_column('purged_at')
        batch_op.drop_column('spool')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_created')
