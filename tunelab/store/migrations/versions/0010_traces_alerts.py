"""request traces; scheduled evaluations, their results and quality alerts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 14:30:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('traces',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('adapter', sa.String(length=128), nullable=True),
    sa.Column('caller', sa.String(length=64), nullable=True),
    sa.Column('prompt', sa.JSON(), nullable=False),
    sa.Column('response', sa.Text(), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('latency_ms', sa.Float(), nullable=False),
    sa.Column('prompt_tokens', sa.Integer(), nullable=True),
    sa.Column('completion_tokens', sa.Integer(), nullable=True),
    sa.Column('finish_reason', sa.String(length=32), nullable=True),
    sa.Column('constraint', sa.JSON(), nullable=True),
    sa.Column('sources', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('traces', schema=None) as batch_op:
        for column in ('adapter', 'caller', 'created_at', 'kind', 'model'):
            batch_op.create_index(batch_op.f(f'ix_traces_{column}'), [column], unique=False)

    op.create_table('eval_schedules',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('eval', sa.JSON(), nullable=False),
    sa.Column('every', sa.String(length=64), nullable=False),
    sa.Column('drift', sa.Float(), nullable=False),
    sa.Column('webhook', sa.Text(), nullable=True),
    sa.Column('accepted_result', sa.Integer(), nullable=True),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('schedule_results',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('schedule', sa.String(length=128), nullable=False),
    sa.Column('eval_run_id', sa.String(length=64), nullable=True),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('gates', sa.JSON(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['schedule'], ['eval_schedules.name'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('schedule_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_results_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_schedule_results_schedule'), ['schedule'], unique=False)

    op.create_table('alerts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('schedule', sa.String(length=128), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('metric', sa.String(length=128), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('firing', sa.Boolean(), nullable=False),
    sa.Column('webhook_status', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['result_id'], ['schedule_results.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['schedule'], ['eval_schedules.name'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_firing'), ['firing'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_result_id'), ['result_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_schedule'), ['schedule'], unique=False)


def downgrade() -> None:
    op.drop_table('alerts')
    op.drop_table('schedule_results')
    op.drop_table('eval_schedules')
    op.drop_table('traces')
