"""upstreams

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 11:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('upstreams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('base_url', sa.Text(), nullable=False),
    sa.Column('api_key', sa.Text(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('models', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('upstreams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upstreams_name'), ['name'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('upstreams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upstreams_name'))

    op.drop_table('upstreams')
