"""PLACEHOLDER for 0009 (key scopes, written on another branch): empty, only so 0010 has its
parent before the merge. Drop this file when the real 0009 lands.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 14:00:00.000000
"""

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
