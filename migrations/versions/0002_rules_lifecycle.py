"""Rule-set lifecycle: who activated a rule set, and when it was retired.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

With ``created_at``/``created_by`` and ``activated_at`` these make every step of a rule
set (draft, active, retired) traceable to a person and a moment, and give the period in
which each version applied to new episodes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rule_sets") as batch:
        batch.add_column(sa.Column("activated_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    # Rule sets activated before this revision were activated by whoever created them.
    op.execute("UPDATE rule_sets SET activated_by = created_by WHERE activated_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("rule_sets") as batch:
        batch.drop_column("retired_at")
        batch.drop_column("activated_by")
