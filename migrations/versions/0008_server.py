"""The server: passwords, sessions, API tokens, sign-in failures, lockouts, OIDC logins; events.auth.

Revision ID: 0008_server
Revises: 0007
Create Date: 2026-12-02

``events.auth`` says how an event's actor was established (password, oidc, token, or
claimed at a terminal); existing events were all typed at a terminal, hence the server
default. It is added as a column, never by a table rebuild, so the append-only triggers stay.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_server"
down_revision = "0008_patient_keys"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _user(column: str = "user_name") -> sa.Column:
    return sa.Column(column, sa.String(length=128), nullable=False)


def upgrade() -> None:
    op.add_column("events", sa.Column("auth", sa.String(length=16), server_default=sa.text("'claimed'"),
                                      nullable=False))  # fmt: skip
    op.create_table(
        "user_passwords",
        _user(),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("set_at", TIMESTAMP, nullable=False),
        sa.Column("set_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"], name=op.f("fk_user_passwords_user_name_users")),
        sa.PrimaryKeyConstraint("user_name", name=op.f("pk_user_passwords")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        _user(),
        sa.Column("auth", sa.String(length=16), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", TIMESTAMP, nullable=False),
        sa.Column("ended_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"], name=op.f("fk_web_sessions_user_name_users")),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_web_sessions")),
    )
    op.create_index(op.f("ix_web_sessions_user_name"), "web_sessions", ["user_name"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        _user(),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_by", sa.String(length=128), nullable=True),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"], name=op.f("fk_api_tokens_user_name_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("hash", name=op.f("uq_api_tokens_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_name"), "api_tokens", ["user_name"])
    op.create_table(
        "sign_in_failures",
        sa.Column("id", BIGINT, nullable=False),
        _user(),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    op.create_index("ix_sign_in_failures_user_name_at", "sign_in_failures", ["user_name", "at"])
    op.create_table(
        "sign_in_lockouts",
        _user(),
        sa.Column("locked_at", TIMESTAMP, nullable=False),
        sa.Column("until", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("user_name", name=op.f("pk_sign_in_lockouts")),
    )
    op.create_table(
        "oidc_logins",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("verifier", sa.String(length=128), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_oidc_logins")),
    )


def downgrade() -> None:
    op.drop_table("oidc_logins")
    op.drop_table("sign_in_lockouts")
    op.drop_index("ix_sign_in_failures_user_name_at", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    op.drop_index(op.f("ix_api_tokens_user_name"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index(op.f("ix_web_sessions_user_name"), table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("user_passwords")
    if op.get_bind().dialect.name == "sqlite":
        # DROP COLUMN, not a batch rebuild: a rebuilt table would lose its append-only triggers.
        op.execute("ALTER TABLE events DROP COLUMN auth")
        return
    op.drop_column("events", "auth")
