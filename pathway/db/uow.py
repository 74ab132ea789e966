"""The unit of work: one connection, one transaction, rolled back unless committed.

Every service runs inside one of these, so a refused or failed command leaves the
database exactly as it was. Write units start their SQLite transaction with BEGIN
IMMEDIATE (see engine.py). The units of one HTTP request share one pooled connection
(``Shared``): one checkout, and one liveness ping, per request rather than per unit.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from pathway.db.engine import SINGLE, WRITE, shown
from pathway.errors import InvalidInput, PathwayError


def connection_error(engine: sa.Engine, exc: OperationalError) -> InvalidInput:
    """A one-sentence explanation of a failed connection, never with a password."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return InvalidInput(
        f"Cannot use the database at {shown(engine.url)}: {reason}. Check --db or PATHWAY_DATABASE_URL."
    )


def connect(engine: sa.Engine) -> sa.Connection:
    try:
        return engine.connect()
    except OperationalError as exc:
        raise connection_error(engine, exc) from None


class Shared:
    """One connection lent to one unit of work at a time (a unit opened while another
    holds it gets its own). Each unit still has its own transaction on it."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._connection: sa.Connection | None = None
        self._lent = False

    def take(self) -> sa.Connection | None:
        if self._lent:
            return None
        if self._connection is None:
            self._connection = connect(self.engine)
        self._lent = True
        return self._connection

    def give_back(self) -> None:
        self._lent = False

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class UnitOfWork:
    def __init__(self, engine: sa.Engine, *, write: bool = False, shared: Shared | None = None,
                 single: bool = False) -> None:  # fmt: skip
        """``single``: the unit reads with one statement, which needs no transaction around
        it: it runs in autocommit, saving the BEGIN and ROLLBACK (round trips on PostgreSQL)."""
        self.engine = engine
        self.write = write
        self.single = single and not write
        self._shared = shared
        self._borrowed = False
        self._committed = False
        self._after_rollback: list[Callable[[Session], None]] = []
        self._after_end: list[Callable[[Session], None]] = []

    def __enter__(self) -> UnitOfWork:
        borrowed = self._shared.take() if self._shared is not None else None
        self._borrowed = borrowed is not None
        self.connection = borrowed if borrowed is not None else connect(self.engine)
        self.connection.execution_options(**self._options())
        self.session = Session(bind=self.connection, expire_on_commit=False, autoflush=False)
        return self

    def _options(self) -> dict[str, Any]:
        """The connection options this unit sets; a shared connection gets them undone after."""
        if self.write:
            return {WRITE: True}
        if not self.single:
            return {}
        return {"isolation_level": "AUTOCOMMIT"} if self.connection.dialect.name == "postgresql" else {SINGLE: True}

    def _undo_options(self) -> None:
        undo: dict[str, Any] = {WRITE: False, SINGLE: False}  # WRITE is also set for after-rollback records
        if self.single and self.connection.dialect.name == "postgresql":
            undo["isolation_level"] = self.connection.default_isolation_level
        self.connection.execution_options(**undo)

    def commit(self) -> None:
        self.session.commit()
        self._committed = True

    def after_rollback(self, record: Callable[[Session], None]) -> None:
        """Write something that must outlive this unit's rollback (a refusal for the access log).

        It runs, and is committed on its own, after the unit's transaction has been rolled
        back; on SQLite that is also when this connection may take the write lock.
        """
        self._after_rollback.append(record)

    def after_end(self, record: Callable[[Session], None]) -> None:
        """Write something once this unit is over, committed or not (a read, for the access log)."""
        self._after_end.append(record)

    def _write_records(self, exc: BaseException | None, records: list[Callable[[Session], None]]) -> None:
        """Write and commit the access-log records: after the rollback, or in the read's own transaction."""
        try:
            self.connection.execution_options(**{WRITE: True})
            for record in records:
                record(self.session)
            self.session.commit()
        except SQLAlchemyError:
            self.session.rollback()
            if isinstance(exc, PathwayError):
                exc.details.append("This could not be written to the access log; tell the administrator.")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            records = self._after_end if self._committed else [*self._after_rollback, *self._after_end]
            # On PostgreSQL a read that went well writes its access-log row in the read's own
            # transaction (a round trip less). SQLite cannot turn a read into a write without
            # risking SQLITE_BUSY, so there the row gets a write transaction of its own.
            joined = exc is None and not self.write and self.connection.dialect.name == "postgresql"
            if not self._committed and not (joined and records):
                self.session.rollback()
            if records:
                self._write_records(exc, records)
        finally:
            self.session.close()
            if self._borrowed and self._shared is not None:
                self._undo_options()
                self._shared.give_back()
            else:
                self.connection.close()
