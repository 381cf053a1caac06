"""auto-replies: incidents, template versions, rate-limit columns

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 01:59:10.374493
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('opened_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('resolved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_resolved_at'), ['resolved_at'], unique=False)

    op.create_table('template_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('author', sa.String(length=320), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'version')
    )
    with op.batch_alter_table('template_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_template_version_name'), ['name'], unique=False)

    op.create_table('template_use',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('template_use', schema=None) as batch_op:
        batch_op.create_index('ix_template_use_used', ['used_at'], unique=False)

    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=False, server_default=''))
        batch_op.create_index('ix_conversation_channel_created', ['channel', 'created_at'], unique=False)

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bounced_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('breaker_tripped_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient', sa.String(length=320), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('automatic', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('template', sa.String(length=100), nullable=False, server_default=''))
        batch_op.create_index('ix_outbox_recipient_created', ['recipient', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_recipient_created')
        batch_op.drop_column('template')
        batch_op.drop_column('automatic')
        batch_op.drop_column('recipient')

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('breaker_tripped_at')
        batch_op.drop_column('bounced_at')

    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_channel_created')
        batch_op.drop_column('language')

    with op.batch_alter_table('template_use', schema=None) as batch_op:
        batch_op.drop_index('ix_template_use_used')

    op.drop_table('template_use')
    with op.batch_alter_table('template_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_template_version_name'))

    op.drop_table('template_version')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_resolved_at'))

    op.drop_table('incident')
