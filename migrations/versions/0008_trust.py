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

`user_changes` keeps every change to users and roles as a row (filled here from the
users and roles that exist); its first row records for good that the database has had
users. `checkpoints` keeps each signed checkpoint. Both are append-only.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008_trust"
down_revision = "0008_server"
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


APPEND_ONLY = ("user_changes", "checkpoints")
TIMESTAMP = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _history_tables(sqlite: bool) -> None:
    op.create_table(
        "user_changes",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("user_name", sa.String(length=128), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.CheckConstraint("change IN ('added', 'disabled', 'enabled', 'granted', 'revoked')",
                           name=op.f("ck_user_changes_change")),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_changes")),
    )
    op.create_table(
        "checkpoints",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoints")),
    )
    for table in APPEND_ONLY:
        if sqlite:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_append_only_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} are append-only: rows cannot be changed or removed'); END"
                )
        else:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION pathway_append_only()")  # fmt: skip
            op.execute(f"CREATE TRIGGER {table}_append_only_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION pathway_append_only()")  # fmt: skip
    # The history of the users that exist: each added with their first role, then the
    # others granted, then disabled where they are, in the order it happened.
    bind = op.get_bind()
    changes = []
    users = bind.execute(sa.text("SELECT name, created_at, created_by, disabled_at, disabled_by FROM users")).all()
    for user in users:
        roles = bind.execute(sa.text("SELECT role, granted_at, granted_by FROM user_roles WHERE user_name = :n "
                                     "ORDER BY granted_at, role"), {"n": user.name}).all()  # fmt: skip
        for i, role in enumerate(roles):
            changes.append((role.granted_at, user.name, "added" if i == 0 else "granted", role.role, role.granted_by))
        if user.disabled_at is not None:
            changes.append((user.disabled_at, user.name, "disabled", None, user.disabled_by or user.created_by))
    changes.sort(key=lambda c: (_instant(c[0]), c[1], c[2] != "added"))
    for at, name, change, role, actor in changes:
        bind.execute(sa.text("INSERT INTO user_changes (at, actor, user_name, change, role) "
                             "VALUES (:at, :actor, :name, :change, :role)"),
                     {"at": at, "actor": actor, "name": name, "change": change, "role": role})  # fmt: skip


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    _history_tables(sqlite)
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
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in APPEND_ONLY:
        if not sqlite:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_truncate ON {table}")
        op.drop_table(table)  # its SQLite triggers go with it
    op.drop_table("access_log_head")
    if op.get_bind().dialect.name == "sqlite":
        # DROP COLUMN, not a batch rebuild: a rebuilt table would lose its append-only triggers.
        for column in ("hash", "prev_hash", "auth"):
            op.execute(f"ALTER TABLE access_log DROP COLUMN {column}")
        return
    for column in ("hash", "prev_hash", "auth"):
        op.drop_column("access_log", column)
