"""feedback on answers (ratings, edits, side-by-side choices) and datasets.provenance

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provenance', sa.JSON(), server_default='{}', nullable=False))

    op.create_table('feedback',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=True),
    sa.Column('messages', sa.JSON(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('answer_index', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('edit', sa.Text(), nullable=True),
    sa.Column('choice', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_owner'), ['owner'], unique=False)

    op.create_table('feedback_answers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('feedback_id', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('adapter', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['feedback_id'], ['feedback.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('feedback_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_answers_adapter'), ['adapter'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_answers_feedback_id'), ['feedback_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_answers_model'), ['model'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feedback_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_answers_model'))
        batch_op.drop_index(batch_op.f('ix_feedback_answers_feedback_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_answers_adapter'))
    op.drop_table('feedback_answers')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_owner'))
        batch_op.drop_index(batch_op.f('ix_feedback_created_at'))
        batch_op.drop_index(batch_op.f('ix_feedback_conversation_id'))
    op.drop_table('feedback')
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.drop_column('provenance')
