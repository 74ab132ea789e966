"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeAlias

import sqlalchemy as sa

AnyRow: TypeAlias = "sa.Row[*tuple[Any, ...]]"
"""A result row of any width (SQLAlchemy 2.1 types rows by their column types)."""


class _JSONValue(sa.types.TypeDecorator):
    """JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.

    A decorator rather than ``with_variant(JSONB())`` so that the PostgreSQL dialect is
    imported only when a PostgreSQL database is used (start-up of SQLite commands).
    """

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(sa.JSON())


JSONValue = _JSONValue()


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC instant on every back end.

    SQLite has no time zone support, so values are stored as naive UTC there and
    given their zone back on load; naive input is refused rather than guessed.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
