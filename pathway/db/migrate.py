"""Alembic, driven from code: upgrade, downgrade, and "is this database current?".

The CLI and the tests use these functions; ``alembic`` on the command line uses the
same ``migrations/env.py``. A SQLite database is brought up to date on first use; a
PostgreSQL database that has tables is only upgraded on request (``pathway db
upgrade``), since production schema changes should be deliberate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

import migrations
from pathway.db.engine import WRITE
from pathway.errors import InvalidInput

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent
LOCK_KEY = 0x70617468  # "path": serialises concurrent upgrades on PostgreSQL

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only when a schema must change or be inspected: a command on an
# up-to-date database needs one query, not the import of alembic and every migration.


def alembic_config(connection: sa.Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return migrations.HEAD


def current_revision(connection: sa.Connection) -> str | None:
    """The revision recorded in the database (None for a database never migrated)."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


@contextmanager
def migrating(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection inside the one locked transaction a migration runs in.

    SQLite: foreign keys are switched off for the duration (batch migrations rebuild
    tables, and PRAGMA foreign_keys cannot change inside a transaction) and checked
    before commit. PostgreSQL: an advisory lock makes concurrent upgrades wait for each
    other instead of racing to create the same tables. ``pathway db upgrade`` and the
    ``alembic`` command (migrations/env.py) both migrate through here.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        connection.execution_options(**{WRITE: True})
        try:
            with connection.begin():
                if not sqlite:
                    connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
                yield connection
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError("migration left rows that break foreign keys")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]


def _run(engine: sa.Engine, action: Callable[[Config, str], Any], revision: str) -> None:
    """Run one alembic command in a single locked transaction."""
    with migrating(engine) as connection:
        action(alembic_config(connection), revision)


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    from alembic import command

    _run(engine, command.upgrade, revision)


def downgrade(engine: sa.Engine, revision: str) -> None:
    from alembic import command

    _run(engine, command.downgrade, revision)


def known_revisions() -> set[str]:
    """Every revision of the migration scripts (loads them all: only when needed)."""
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def ensure_current(engine: sa.Engine, *, strict: bool = True) -> None:
    """Make sure the schema is at head before a command touches the data.

    With ``strict=False`` an outdated PostgreSQL schema is left alone (for reports
    about the database itself).
    """
    with engine.connect() as connection:
        current = current_revision(connection)
        empty = current is None and not sa.inspect(connection).get_table_names()
        sqlite = connection.dialect.name == "sqlite"
    if current == head_revision():
        return
    if current is not None and current not in known_revisions():
        raise InvalidInput(
            f"The database schema is at revision {current}, which this version of pathway does not know; "
            "it was upgraded by a newer pathway. Use that version."
        )
    if sqlite or empty:
        upgrade(engine)
        return
    if not strict:
        return
    raise InvalidInput(
        f"The database schema is at revision {current or 'none'} but this pathway needs {head_revision()}; "
        "run `pathway db upgrade` first."
    )
