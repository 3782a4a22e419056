"""api_keys.scopes (admin, train, infer), rpm and tpm: what a key may call and how fast

An admin key (admin = true) gets the scope admin; every other key keeps what it could call
before: infer and train.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sa.String(length=64), server_default='infer,train', nullable=False))
        batch_op.add_column(sa.Column('rpm', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('tpm', sa.Integer(), nullable=True))
    keys = sa.table('api_keys', sa.column('admin', sa.Boolean()), sa.column('scopes', sa.String()))
    op.execute(keys.update().where(keys.c.admin == sa.true()).values(scopes='admin'))


def downgrade() -> None:
    keys = sa.table('api_keys', sa.column('admin', sa.Boolean()), sa.column('scopes', sa.String()))
    op.execute(keys.update().where(keys.c.scopes.like('%admin%')).values(admin=True))
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('tpm')
        batch_op.drop_column('rpm')
        batch_op.drop_column('scopes')
