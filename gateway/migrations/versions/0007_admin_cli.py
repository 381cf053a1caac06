"""admin CLI: where each mailbox import got to

Revision ID: 0007_admin_cli
Revises: 0006_reports
Create Date: 2026-11-24 09:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007_admin_cli'
down_revision = '0006_reports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('import_checkpoint',
    sa.Column('source', sa.String(length=1000), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('source')
    )


def downgrade() -> None:
    op.drop_table('import_checkpoint')
