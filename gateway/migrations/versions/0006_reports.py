"""reports: known issues, daemon heartbeats, indexes that let reports count without reading texts

Revision ID: 0006_reports
Revises: 0005_surveys
Create Date: 2026-11-24 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006_reports'
down_revision = '0005_surveys'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('known_issue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('heartbeat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('beat_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('stopped_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('last_error_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('heartbeat', schema=None) as batch_op:
        batch_op.create_index('ix_heartbeat_beat', ['beat_at'], unique=False)
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_report', ['conversation_id', 'direction', 'kind', 'created_at'],
                              unique=False)
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.create_index('ix_note_kind_created', ['kind', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.drop_index('ix_note_kind_created')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_report')
    with op.batch_alter_table('heartbeat', schema=None) as batch_op:
        batch_op.drop_index('ix_heartbeat_beat')
    op.drop_table('heartbeat')
    op.drop_table('known_issue')
