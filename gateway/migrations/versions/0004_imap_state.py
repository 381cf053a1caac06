"""IMAP intake: how far each mailbox folder has been read

Revision ID: 0004_imap
Revises: 0003
Create Date: 2026-12-04 15:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004_imap'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('imap_state',
    sa.Column('mailbox', sa.String(length=500), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('acted_uid', sa.BigInteger(), nullable=False),
    sa.Column('failed_uids', sa.JSON(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('mailbox')
    )


def downgrade() -> None:
    op.drop_table('imap_state')
