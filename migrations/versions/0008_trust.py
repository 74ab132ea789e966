"""Trust the record: the access log hash-chained, with how each actor was established.

Revision ID: 0008_trust
Revises: 0007
Create Date: 2026-12-02

`access_log` gains `auth` (password | oidc | token | claimed; rows before this revision
were claims), `prev_hash` and `hash`; existing rows are chained in id order and the
chain head is kept in the one-row `access_log_head`. The hashing is written out here
(frozen) rather than imported, so later changes to pathway cannot change what this
migration wrote. Columns are added, never the table rebuilt, so the append-only
triggers stay (they are lifted only while the existing rows are chained).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008_trust"
down_revision = "0007"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
SQLITE_TRIGGER = (
    "CREATE TRIGGER access_log_append_only_update BEFORE UPDATE ON access_log "
    "BEGIN SELECT RAISE(ABORT, 'access_log are append-only: rows cannot be changed or removed'); END"
)


def _instant(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hash(prev: str, row: Any) -> str:
    detail = json.loads(row.detail) if isinstance(row.detail, str) else row.detail
    payload = {"at": _instant(row.at), "actor": row.actor, "role": row.role, "action": row.action,
               "outcome": row.outcome, "episode_id": row.episode_id, "detail": detail, "auth": "claimed"}  # fmt: skip
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(f"{prev}\n{text}".encode()).hexdigest()


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.add_column("access_log", sa.Column("auth", sa.String(length=16), server_default="claimed", nullable=False))
    for name in ("prev_hash", "hash"):
        # SQLite adds a NOT NULL column only with a default; PostgreSQL is made NOT NULL once filled.
        column = sa.Column(name, sa.String(length=64), nullable=not sqlite, server_default="" if sqlite else None)
        op.add_column("access_log", column)
    op.create_table(
        "access_log_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log_head")),
    )
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS access_log_append_only_update")
    else:
        op.execute("ALTER TABLE access_log DISABLE TRIGGER access_log_append_only")
    prev, count = GENESIS, 0
    rows = bind.execute(sa.text("SELECT id, at, actor, role, action, outcome, episode_id, detail FROM access_log "
                                "ORDER BY id")).all()  # fmt: skip
    for row in rows:
        digest = _hash(prev, row)
        bind.execute(sa.text("UPDATE access_log SET prev_hash = :p, hash = :h WHERE id = :id"),
                     {"p": prev, "h": digest, "id": row.id})  # fmt: skip
        prev, count = digest, count + 1
    bind.execute(sa.text("INSERT INTO access_log_head (id, count, hash) VALUES (1, :c, :h)"), {"c": count, "h": prev})
    if sqlite:
        op.execute(SQLITE_TRIGGER)
    else:
        op.execute("ALTER TABLE access_log ENABLE TRIGGER access_log_append_only")
        for name in ("prev_hash", "hash"):
            op.alter_column("access_log", name, nullable=False)


def downgrade() -> None:
    op.drop_table("access_log_head")
    if op.get_bind().dialect.name == "sqlite":
        # DROP COLUMN, not a batch rebuild: a rebuilt table would lose its append-only triggers.
        for column in ("hash", "prev_hash", "auth"):
            op.execute(f"ALTER TABLE access_log DROP COLUMN {column}")
        return
    for column in ("hash", "prev_hash", "auth"):
        op.drop_column("access_log", column)
