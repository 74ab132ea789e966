"""Alembic environment: uses pathway's engine set-up and models.

Called by ``pathway db upgrade`` (which passes a connection inside a locked
transaction) or by the ``alembic`` command (which connects to --db's URL, taken from
``-x db=URL``, $PATHWAY_DATABASE_URL, or the default SQLite file).
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from pathway.db import models
from pathway.db.engine import create_engine, resolve_url
from pathway.db.migrate import migrating

config = context.config
if config.config_file_name:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
target_metadata = models.Base.metadata


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    # The alembic command: the same locked transaction, with SQLite's foreign keys off, as
    # `pathway db upgrade` (tables rebuilt by batch migrations would otherwise fail them).
    url, is_default = resolve_url(context.get_x_argument(as_dictionary=True).get("db"))
    engine = create_engine(url, create_folder=is_default)
    with migrating(engine) as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("pathway migrations run online only: use `pathway db upgrade`.")
run_online()
