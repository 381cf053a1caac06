"""agents, conversation state, scheduled work

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 00:58:59.132940
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scheduled',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('message_pk', sa.Integer(), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.ForeignKeyConstraint(['message_pk'], ['message.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('scheduled', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduled_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index('ix_scheduled_due', ['state', 'due_at'], unique=False)

    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))

    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.String(length=10), nullable=False, server_default='normal'))
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('no_survey', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_conversation_merged_into', 'conversation', ['merged_into_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_conversation_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_foreign_key('fk_conversation_assignee', 'agent', ['assignee_id'], ['id'])

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('stripped', sa.Text(), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_message_agent_id'), ['agent_id'], unique=False)
        batch_op.create_foreign_key('fk_message_agent', 'agent', ['agent_id'], ['id'])

    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author', sa.String(length=320), nullable=False, server_default=''))



def downgrade() -> None:
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.drop_column('author')

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_constraint('fk_message_agent', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_message_agent_id'))
        batch_op.drop_column('stripped')
        batch_op.drop_column('agent_id')

    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_constraint('fk_conversation_assignee', type_='foreignkey')
        batch_op.drop_constraint('fk_conversation_merged_into', type_='foreignkey')
        batch_op.drop_column('merged_into_id')
        batch_op.drop_index(batch_op.f('ix_conversation_assignee_id'))
        batch_op.drop_column('no_survey')
        batch_op.drop_column('assignee_id')
        batch_op.drop_column('tags')
        batch_op.drop_column('priority')

    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.drop_column('active')
        batch_op.drop_column('created_at')

    with op.batch_alter_table('scheduled', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduled_due')
        batch_op.drop_index(batch_op.f('ix_scheduled_conversation_id'))

    op.drop_table('scheduled')
