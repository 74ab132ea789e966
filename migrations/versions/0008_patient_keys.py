"""Patient keys: references compared case-insensitively after NFKC, for uniqueness and search.

Revision ID: 0008_patient_keys
Revises: 0007
Create Date: 2026-12-02

Adds ``episodes.patient_key`` (see ``pathway/domain/patients.py``) and moves the "one
open episode per patient and side" index from the reference as typed to the key. No
reference and no event is changed: events are hash-chained, and a reference is
clinical data. What the new rule would have refused is reported, by episode id only
(a reference is personal data, never printed):

- open episodes whose references are the same patient under the new comparison
  (``MRN-1`` and ``mrn-1``, or full-width digits): the oldest keeps the key, each later
  one gets its key with ``#<id>`` appended, so the index can be built; pathway still
  treats them as the same patient. Close or correct one of them.
- references outside ASCII letters, digits and ``-_./:``: kept as they are; new
  episodes cannot be opened with such a reference. Correct them with
  ``pathway correct ID 1 --set patient_ref=...`` where they are typing errors.
"""

from __future__ import annotations

import re
import sys
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0008_patient_keys"
down_revision = "0007"
branch_labels = None
depends_on = None

TERMINAL = ("discharged", "closed")
OPEN = "NOT (state IN ('closed', 'discharged'))"
_ALLOWED = re.compile(r"[A-Za-z0-9_./:-]{1,64}")


def _key(ref: str) -> str:
    """As ``pathway.domain.patients.patient_key`` is at this revision (copied: a migration must not change later)."""
    return unicodedata.normalize("NFKC", ref).strip().casefold()


def _report(ids: list[int], message: str) -> None:
    """One sentence on stderr (what `pathway db upgrade` shows), naming episodes by id only."""
    shown = ", ".join(map(str, ids[:50])) + (f" and {len(ids) - 50} more" if len(ids) > 50 else "")
    print(f"Migration 0008 (patient keys): episodes {shown} {message}.", file=sys.stderr)


def upgrade() -> None:
    op.add_column("episodes", sa.Column("patient_key", sa.String(length=255), nullable=True))
    bind = op.get_bind()
    episodes = sa.table("episodes", sa.column("id", sa.Integer), sa.column("patient_ref", sa.String),
                        sa.column("patient_key", sa.String), sa.column("side", sa.String),
                        sa.column("state", sa.String))  # fmt: skip
    rows = bind.execute(sa.select(episodes.c.id, episodes.c.patient_ref, episodes.c.side, episodes.c.state)
                        .order_by(episodes.c.id)).all()  # fmt: skip
    taken: set[tuple[str, str]] = set()
    clashes: list[int] = []
    outside: list[int] = []
    keys = []
    for row in rows:
        key = _key(row.patient_ref)
        if not _ALLOWED.fullmatch(unicodedata.normalize("NFKC", row.patient_ref).strip()):
            outside.append(row.id)
        if row.state not in TERMINAL:
            if (key, row.side) in taken:
                clashes.append(row.id)
                key = f"{key}#{row.id}"
            else:
                taken.add((key, row.side))
        keys.append({"episode": row.id, "key": key})
    update = sa.update(episodes).where(episodes.c.id == sa.bindparam("episode")).values(patient_key=sa.bindparam("key"))
    for start in range(0, len(keys), 10_000):  # executemany, in batches
        bind.execute(update, keys[start : start + 10_000])
    op.drop_index("uq_episodes_open_patient_side", table_name="episodes")
    op.create_index("ix_episodes_patient_key", "episodes", ["patient_key"])
    op.create_index("uq_episodes_open_patient_key_side", "episodes", ["patient_key", "side"], unique=True,
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))  # fmt: skip
    if clashes:
        _report(clashes, "are open on the same side as an older open episode of the same patient (the references "
                "differ only in case or character forms); both are kept and count as that patient: close one, or "
                "correct its reference with `pathway correct ID 1 --set patient_ref=...`")  # fmt: skip
    if outside:
        _report(outside, "have patient references with characters other than ASCII letters, digits and -_./:; they "
                "are kept as they are, but no new episode can be opened with such a reference (correct a typing "
                "error with `pathway correct ID 1 --set patient_ref=...`)")  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_episodes_open_patient_key_side", table_name="episodes")
    op.drop_index("ix_episodes_patient_key", table_name="episodes")
    op.create_index("uq_episodes_open_patient_side", "episodes", ["patient_ref", "side"], unique=True,
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))  # fmt: skip
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE episodes DROP COLUMN patient_key")  # not a batch rebuild: the table keeps its triggers
        return
    op.drop_column("episodes", "patient_key")
