"""The worklist by email: each user's address and digest frequency, and the digests claimed and sent.

Revision ID: 0009_digests
Revises: 0008_trust
Create Date: 2026-12-03

Two new tables, nothing else touched: contact details are not clinical records, and a
digest row exists so that overlapping runs of `jobs notify` send each digest once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_digests"
down_revision = "0008_trust"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "user_contacts",
        sa.Column("user_name", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("digest", sa.String(length=8), nullable=True),
        sa.Column("set_at", TIMESTAMP, nullable=False),
        sa.Column("set_by", sa.String(length=128), nullable=False),
        sa.CheckConstraint("digest IN ('daily', 'weekly')", name=op.f("ck_user_contacts_digest")),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"], name=op.f("fk_user_contacts_user_name_users")),
        sa.PrimaryKeyConstraint("user_name", name=op.f("pk_user_contacts")),
    )
    op.create_table(
        "digests",
        sa.Column("user_name", sa.String(length=128), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("claimed_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"], name=op.f("fk_digests_user_name_users")),
        sa.PrimaryKeyConstraint("user_name", "period", name=op.f("pk_digests")),
    )


def downgrade() -> None:
    op.drop_table("digests")
    op.drop_table("user_contacts")
