"""Flags (the timers of the pathway) and each episode's scheduling mark.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Episodes that exist before this revision have no flags yet (``scheduled_seq`` is
empty): the next `pathway jobs flag-overdue` schedules them from their event history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KINDS = (
    "injection_response", "mri_report", "postop_followup", "radiograph_report", "reassessment",
    "surgery_record", "surgery_scheduling", "workup_decision",
)  # fmt: skip
UNSCHEDULED = sa.text("scheduled_seq IS NULL OR scheduled_seq <> event_count")
PENDING = sa.text("opened_at IS NULL AND resolved_at IS NULL")
OPEN = sa.text("opened_at IS NOT NULL AND resolved_at IS NULL")
UNRESOLVED = sa.text("resolved_at IS NULL")


def upgrade() -> None:
    op.add_column("episodes", sa.Column("scheduled_seq", sa.Integer(), nullable=True))
    op.create_index(
        "ix_episodes_unscheduled", "episodes", ["id"], sqlite_where=UNSCHEDULED, postgresql_where=UNSCHEDULED
    )
    op.create_table(
        "flags",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("anchor_on", sa.Date(), nullable=False),
        sa.Column("milestone", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("overdue_on", sa.Date(), nullable=False),
        sa.Column("opened_at", TIMESTAMP, nullable=True),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
        sa.Column("resolved_event_id", BIGINT, nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.CheckConstraint(f"kind IN ({', '.join(repr(k) for k in KINDS)})", name=op.f("ck_flags_kind")),
        sa.CheckConstraint("resolution IN ('moved_on', 'satisfied')", name=op.f("ck_flags_resolution")),
        sa.ForeignKeyConstraint(["episode_id"], ["episodes.id"], name=op.f("fk_flags_episode_id_episodes")),
        sa.ForeignKeyConstraint(["resolved_event_id"], ["events.id"], name=op.f("fk_flags_resolved_event_id_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flags")),
        sa.UniqueConstraint(
            "episode_id", "kind", "anchor_on", "milestone", name=op.f("uq_flags_episode_id_kind_anchor_on_milestone")
        ),
    )
    op.create_index("ix_flags_pending", "flags", ["due_on"], sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_index("ix_flags_open", "flags", ["overdue_on"], sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index(
        "ix_flags_worklist", "flags", ["overdue_on", "id"], sqlite_where=UNRESOLVED, postgresql_where=UNRESOLVED
    )


def downgrade() -> None:
    op.drop_index("ix_flags_worklist", table_name="flags")
    op.drop_index("ix_flags_open", table_name="flags")
    op.drop_index("ix_flags_pending", table_name="flags")
    op.drop_table("flags")
    op.drop_index("ix_episodes_unscheduled", table_name="episodes")
    op.drop_column("episodes", "scheduled_seq")
