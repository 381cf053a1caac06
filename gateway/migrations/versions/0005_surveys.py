"""surveys: the survey table and the customer's opt-out

Revision ID: 0005_surveys
Revises: 0004_imap
Create Date: 2026-11-24 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005_surveys'
down_revision = '0004_imap'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('survey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=320), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('choices', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=1000), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('rated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('rated_via', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id')
    )
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.create_index('ix_survey_customer_sent', ['customer_id', 'sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_sent_at'), ['sent_at'], unique=False)

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('surveys_opted_out_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('surveys_opted_out_at')

    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_sent_at'))
        batch_op.drop_index(batch_op.f('ix_survey_message_id'))
        batch_op.drop_index('ix_survey_customer_sent')

    op.drop_table('survey')
