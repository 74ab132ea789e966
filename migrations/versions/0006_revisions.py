"""Revisions: how corrected, voided and re-derived events now count (a projection).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Existing databases hold no corrections, so the table starts empty: every event counts
as recorded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "revisions",
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("by_seq", sa.Integer(), nullable=True),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.CheckConstraint(
            "status IN ('corrected', 'effective', 'entered_in_error')", name=op.f("ck_revisions_status")
        ),
        sa.ForeignKeyConstraint(["episode_id"], ["episodes.id"], name=op.f("fk_revisions_episode_id_episodes")),
        sa.PrimaryKeyConstraint("episode_id", "seq", name=op.f("pk_revisions")),
    )


def downgrade() -> None:
    op.drop_table("revisions")
