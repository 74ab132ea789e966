"""Users and their roles: access control (an empty users table means open mode).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("disabled_at", TIMESTAMP, nullable=True),
        sa.Column("disabled_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_users")),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("granted_at", TIMESTAMP, nullable=False),
        sa.Column("granted_by", sa.String(length=128), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'clinician', 'coordinator', 'reviewer', 'service')", name=op.f("ck_user_roles_role")
        ),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"], name=op.f("fk_user_roles_user_name_users")),
        sa.PrimaryKeyConstraint("user_name", "role", name=op.f("pk_user_roles")),
    )


def downgrade() -> None:
    op.drop_table("user_roles")
    op.drop_table("users")
