"""Append-only audit tables (UPDATE, DELETE, TRUNCATE refused) and an index for reports.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

The triggers stop accidents and casual edits through the application's own database
account. They are not the integrity proof: someone who can drop a trigger can also
edit rows, which is why `pathway audit verify` recomputes every hash chain.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("events", "access_log")


def upgrade() -> None:
    # Reports select events by trigger, then look up an episode's earlier events of a trigger.
    op.create_index("ix_events_trigger_episode_id_seq", "events", ["trigger", "episode_id", "seq"])
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_append_only_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} are append-only: rows cannot be changed or removed'); END"
                )
        return
    op.execute(
        """
        CREATE FUNCTION pathway_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: rows cannot be changed or removed', TG_TABLE_NAME
                USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION pathway_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION pathway_append_only()"
        )


def downgrade() -> None:
    op.drop_index("ix_events_trigger_episode_id_seq", table_name="events")
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_{action}")
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute("DROP FUNCTION IF EXISTS pathway_append_only()")
