"""Choosing the database and connecting to it safely.

SQLite is the embedded default (a file in the user's data directory); PostgreSQL is
for multi-user sites. SQLite connections get foreign keys, WAL and a busy timeout, and
write transactions start with BEGIN IMMEDIATE so that concurrent writers queue for the
lock up front instead of failing half-way with "database is locked".
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import platformdirs
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from pathway.errors import InvalidInput

ENV_URL = "PATHWAY_DATABASE_URL"
WRITE = "pathway_write"  # execution option: this transaction will write
SINGLE = "pathway_single"  # execution option: this unit reads with one statement (SQLite: no BEGIN)
SQLITE_BUSY_TIMEOUT_MS = 30_000
# A pooled PostgreSQL connection idle longer than this is checked before use (one round
# trip); one back in the pool sooner has just worked, and is used as it is.
PING_AFTER_IDLE_S = 1.0
_RETURNED = "pathway_returned_at"


def default_database_path() -> Path:
    return Path(platformdirs.user_data_dir("pathway", appauthor=False)) / "pathway.sqlite3"


def resolve_url(option: str | None) -> tuple[URL, bool]:
    """The database URL from --db, else $PATHWAY_DATABASE_URL, else the default file.

    Returns the URL and whether it is the default location (whose folder we may create).
    A bare path is taken as a SQLite file; ``postgresql://`` gets the psycopg 3 driver.
    """
    text = (option or os.environ.get(ENV_URL, "")).strip()
    if not text:
        return make_url(f"sqlite:///{default_database_path()}"), True
    if "://" not in text:
        return make_url(f"sqlite:///{Path(text).expanduser().resolve()}"), False
    try:
        url = make_url(text)
    except ArgumentError:
        raise InvalidInput(
            f"{text!r} is not a database URL; use sqlite:///PATH or postgresql://USER@HOST/DB."
        ) from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise InvalidInput(f"pathway supports SQLite and PostgreSQL, not {url.get_backend_name()}.")
    return url, False


def shown(url: URL) -> str:
    """The URL as it may be printed: never with its password."""
    return url.render_as_string(hide_password=True)


def _prepare_sqlite_file(url: URL, create_folder: bool, create: bool) -> None:
    """Create a new database file readable by its owner only (it holds patient data).

    With ``create`` false a missing file is an error naming the path: a mistyped --db
    must not silently start an empty database.
    """
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if create_folder:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.parent.is_dir():
        raise InvalidInput(f"The folder {path.parent} does not exist; create it or choose another --db path.")
    if not create and not path.exists():
        raise InvalidInput(
            f"There is no database at {path}. Check the path given with --db or PATHWAY_DATABASE_URL; "
            f"to start a new database there, run `pathway --db {path} db upgrade`."
        )
    if not path.exists():
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as exc:
            raise InvalidInput(f"Cannot create the database file {path}: {exc.strerror}.") from None


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        options = connection.get_execution_options()
        if options.get(SINGLE):
            return  # one statement is atomic by itself: no transaction around it
        connection.exec_driver_sql(f"BEGIN {'IMMEDIATE' if options.get(WRITE) else 'DEFERRED'}")


def create_engine(
    url: URL, *, create_folder: bool = False, create: bool = True, echo: bool = False, pooled: bool = False
) -> Engine:
    """An engine for ``url``; no connection is made yet. A missing SQLite file is created
    (owner-only) unless ``create`` is false, when it is an error (exit 2).

    A command runs one unit of work and exits, so by default connections are not
    pooled. ``pooled`` keeps them open between units of work, for long-running
    processes (a server, benchmarks): each unit then pays neither the connection set-up
    nor, on SQLite, the checkpoint (and fsync) that closing the last connection does.
    On PostgreSQL a pooled connection idle for a while is checked before use.
    """
    if url.get_backend_name() == "sqlite":
        _prepare_sqlite_file(url, create_folder, create)
        pool = {"pool_size": 5, "max_overflow": 10} if pooled else {"poolclass": sa.pool.NullPool}
        engine = sa.create_engine(url, echo=echo, **pool)
        _configure_sqlite(engine)
        return engine
    try:
        engine = sa.create_engine(
            url,
            echo=echo,
            **({} if pooled else {"poolclass": sa.pool.NullPool}),
            connect_args={"connect_timeout": 10, "application_name": "pathway"},
        )
    except NoSuchModuleError:
        raise InvalidInput(f"No database driver for {url.drivername}; use postgresql://… (psycopg 3).") from None
    if pooled:
        _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it has been idle a while.

    A server restarted or a connection dropped while idle is then replaced before a
    request uses it (the pool retries with a new one), while a busy server does not pay
    a ping per request for connections it used a moment ago.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED)
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_S:
            return  # new, or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error:
            raise sa.exc.DisconnectionError("the pooled connection is gone") from None
