"""Initial schema: rule sets and rules, episodes, events, access log; seeds rule set 1.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Types are written out here rather than imported from pathway, so that this migration
keeps meaning what it meant when later code changes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
STATES = (
    "closed", "conservative_care", "diagnosed", "discharged", "injection_done", "mri_ordered",
    "mri_reported", "post_operative", "radiographs_ordered", "radiographs_reported", "referred",
    "surgery_scheduled", "surgical_referral",
)  # fmt: skip
OPEN_EPISODE = sa.text("NOT (state IN ('closed', 'discharged'))")
ACTIVE = sa.text("status = 'active'")

# Version 1: the defaults of PATHWAY.md, with the basis a reviewer needs to judge them.
RULES_V1 = [
    (
        "conservative_min_days",
        90,
        "int",
        "days",
        "Source document: 3-6 months of conservative care come before surgery.",
    ),
    ("reassessment_window_open_days", 90, "int", "days", "Source document: reassess at 3 to 6 months."),
    ("reassessment_window_close_days", 180, "int", "days", "Source document: reassess at 3 to 6 months."),
    (
        "mri_ifs_max_mm",
        15,
        "number",
        "mm",
        "Ischiofemoral space <= 15 mm: sensitivity 77%, specificity 81% (Singer et al. 2015, meta-analysis).",
    ),
    (
        "mri_qfs_max_mm",
        10,
        "number",
        "mm",
        "Quadratus femoris space <= 10 mm (Singer et al. 2015); composite with muscle oedema or fatty atrophy "
        "per Kheterpal, Torriani, Bredella 2020.",
    ),
    (
        "diagnostic_relief_min_pct",
        50,
        "number",
        "%",
        "Local policy: the customary threshold for a positive anaesthetic response; nothing IFI-specific is published.",
    ),
    (
        "injection_guidance_allowed",
        ["ultrasound"],
        "enum_list",
        None,
        "Source document: ultrasound-guided injection (CT guidance is published too; a site may allow it).",
    ),
    (
        "injection_min_interval_days",
        42,
        "int",
        "days",
        "Local policy: corticosteroid injections at one site are usually 6 weeks to 3 months apart.",
    ),
    (
        "injection_max_per_365_days",
        3,
        "int",
        "injections",
        "Local policy: usually no more than 3-4 corticosteroid injections per site per year.",
    ),
    (
        "surgery_requires_injection",
        True,
        "bool",
        None,
        "Source document: first-line care includes an image-guided injection.",
    ),
    (
        "surgery_requires_positive_diagnostic_injection",
        True,
        "bool",
        None,
        "Source document: temporary relief after injection confirms the diagnosis; surgical series require it.",
    ),
    ("radiograph_report_overdue_days", 14, "int", "days", "Operational default."),
    ("mri_report_overdue_days", 28, "int", "days", "Operational default."),
    (
        "injection_response_overdue_days",
        28,
        "int",
        "days",
        "Operational default: the post-injection review, when the duration of relief is known.",
    ),
    ("workup_decision_overdue_days", 14, "int", "days", "Operational default."),
    ("surgery_scheduling_overdue_days", 60, "int", "days", "Operational default."),
    ("postop_followup_days", [42, 90, 180, 365], "int_list", "days", "Operational default."),
    ("followup_grace_days", 14, "int", "days", "Operational default."),
]


def upgrade() -> None:
    rule_sets = op.create_table(
        "rule_sets",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("activated_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint("status IN ('active', 'draft', 'retired')", name=op.f("ck_rule_sets_status")),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_rule_sets")),
    )
    op.create_index(
        "uq_rule_sets_one_active", "rule_sets", ["status"], unique=True, sqlite_where=ACTIVE, postgresql_where=ACTIVE
    )
    rules = op.create_table(
        "rules",
        sa.Column("rule_set_version", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.Column("value_type", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_set_version"], ["rule_sets.version"], name=op.f("fk_rules_rule_set_version_rule_sets")
        ),
        sa.PrimaryKeyConstraint("rule_set_version", "key", name=op.f("pk_rules")),
    )
    op.create_table(
        "episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_ref", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("referred_on", sa.Date(), nullable=False),
        sa.Column("has_hip_arthroplasty", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("state_entered_on", sa.Date(), nullable=False),
        sa.Column("last_event_on", sa.Date(), nullable=False),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("opened_at", TIMESTAMP, nullable=False),
        sa.Column("opened_by", sa.String(length=128), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("side IN ('left', 'right')", name=op.f("ck_episodes_side")),
        sa.CheckConstraint(f"state IN ({', '.join(repr(s) for s in STATES)})", name=op.f("ck_episodes_state")),
        sa.ForeignKeyConstraint(
            ["rules_version"], ["rule_sets.version"], name=op.f("fk_episodes_rules_version_rule_sets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_episodes")),
    )
    op.create_index(op.f("ix_episodes_patient_ref"), "episodes", ["patient_ref"])
    op.create_index(op.f("ix_episodes_state"), "episodes", ["state"])
    op.create_index(
        "uq_episodes_open_patient_side", "episodes", ["patient_ref", "side"], unique=True,
        sqlite_where=OPEN_EPISODE, postgresql_where=OPEN_EPISODE,
    )  # fmt: skip
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("guards", JSON, nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("overridden_guards", JSON, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["episode_id"], ["episodes.id"], name=op.f("fk_events_episode_id_episodes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("episode_id", "seq", name=op.f("uq_events_episode_id_seq")),
    )
    op.create_index(op.f("ix_events_occurred_on"), "events", ["occurred_on"])
    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=True),
        sa.Column("detail", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    op.create_index(op.f("ix_access_log_at"), "access_log", ["at"])

    now = datetime.now(UTC)
    op.bulk_insert(
        rule_sets,
        [{"version": 1, "status": "active", "created_at": now, "activated_at": now,
          "created_by": "pathway (migration 0001)", "note": "Defaults of the pathway specification."}],
    )  # fmt: skip
    op.bulk_insert(
        rules,
        [
            {"rule_set_version": 1, "key": key, "position": position, "value": value,
             "value_type": value_type, "unit": unit, "basis": basis}
            for position, (key, value, value_type, unit, basis) in enumerate(RULES_V1, start=1)
        ],
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index(op.f("ix_access_log_at"), table_name="access_log")
    op.drop_table("access_log")
    op.drop_index(op.f("ix_events_occurred_on"), table_name="events")
    op.drop_table("events")
    op.drop_index("uq_episodes_open_patient_side", table_name="episodes")
    op.drop_index(op.f("ix_episodes_state"), table_name="episodes")
    op.drop_index(op.f("ix_episodes_patient_ref"), table_name="episodes")
    op.drop_table("episodes")
    op.drop_table("rules")
    op.drop_index("uq_rule_sets_one_active", table_name="rule_sets")
    op.drop_table("rule_sets")
