"""The unit of work: one connection, one transaction, rolled back unless committed.

Every service runs inside one of these, so a refused or failed command leaves the
database exactly as it was. Write units start their SQLite transaction with BEGIN
IMMEDIATE (see engine.py).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from pathway.db.engine import WRITE, shown
from pathway.errors import InvalidInput, PathwayError


def connection_error(engine: sa.Engine, exc: OperationalError) -> InvalidInput:
    """A one-sentence explanation of a failed connection, never with a password."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return InvalidInput(
        f"Cannot use the database at {shown(engine.url)}: {reason}. Check --db or PATHWAY_DATABASE_URL."
    )


class UnitOfWork:
    def __init__(self, engine: sa.Engine, *, write: bool = False) -> None:
        self.engine = engine
        self.write = write
        self._committed = False
        self._after_rollback: list[Callable[[Session], None]] = []
        self._after_end: list[Callable[[Session], None]] = []

    def __enter__(self) -> UnitOfWork:
        try:
            self.connection = self.engine.connect()
        except OperationalError as exc:
            raise connection_error(self.engine, exc) from None
        if self.write:
            self.connection.execution_options(**{WRITE: True})
        self.session = Session(bind=self.connection, expire_on_commit=False, autoflush=False)
        return self

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

    def _record_after_rollback(self, exc: BaseException | None, records: list[Callable[[Session], None]]) -> None:
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
            if not self._committed:
                self.session.rollback()
            if records:
                self._record_after_rollback(exc, records)
        finally:
            self.session.close()
            self.connection.close()
