"""How an event arrived: `source` ("import" for a file), and the file's SHA-256 and row.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Null for events typed at the command line, so events written before this revision keep
their hashes (the hashed payload includes these columns only when they are set). A
unique index on (file, row) makes a second import of the same file fail even when two
imports race. Columns are added, never the table rebuilt, so the append-only triggers stay.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

WHERE = "source_sha256 IS NOT NULL"


def upgrade() -> None:
    op.add_column("events", sa.Column("source", sa.String(length=16), nullable=True))
    op.add_column("events", sa.Column("source_sha256", sa.String(length=64), nullable=True))
    op.add_column("events", sa.Column("source_row", sa.Integer(), nullable=True))
    op.create_index(
        "uq_events_source_sha256_source_row",
        "events",
        ["source_sha256", "source_row"],
        unique=True,
        sqlite_where=sa.text(WHERE),
        postgresql_where=sa.text(WHERE),
    )


def downgrade() -> None:
    op.drop_index("uq_events_source_sha256_source_row", table_name="events")
    if op.get_bind().dialect.name == "sqlite":
        # DROP COLUMN, not a batch rebuild: a rebuilt table would lose its append-only triggers.
        for column in ("source_row", "source_sha256", "source"):
            op.execute(f"ALTER TABLE events DROP COLUMN {column}")
        return
    for column in ("source_row", "source_sha256", "source"):
        op.drop_column("events", column)
