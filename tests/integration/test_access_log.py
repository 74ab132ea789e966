"""The access log: refusals survive their command's rollback; granted identified exports are recorded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from pathway.db.models import AccessLogHeadRow, AccessLogRow
from pathway.db.uow import UnitOfWork
from pathway.errors import AccessDenied
from pathway.services import Actor
from pathway.services.access import authorize
from pathway.services.users import add_user, ensure_admin

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _log(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        query = sa.select(AccessLogRow.actor, AccessLogRow.role, AccessLogRow.action, AccessLogRow.outcome)
        return [tuple(row) for row in conn.execute(query.order_by(AccessLogRow.id))]


def test_refusals_outlive_the_rollback_and_grants_and_reads_are_logged(engine: sa.Engine) -> None:
    with UnitOfWork(engine, write=True) as uow:
        ensure_admin(uow, name="adm", actor=Actor("root"), now=NOW)
    with UnitOfWork(engine, write=True) as uow:
        add_user(uow, name="kim", role="clinician", actor=Actor("adm"), now=NOW)
    with pytest.raises(AccessDenied), UnitOfWork(engine, write=True) as uow:
        authorize(uow, Actor("adm"), "audit.export.identified", now=NOW)
    with UnitOfWork(engine, write=True) as uow:
        acting = authorize(uow, Actor("kim"), "audit.export.identified", now=NOW, log_grant=True)
        uow.commit()
    assert acting == Actor("kim", "clinician")
    with UnitOfWork(engine) as uow:  # a read of records is logged once the read is over
        authorize(uow, Actor("kim"), "episode.list", now=NOW)
    with UnitOfWork(engine) as uow:  # a read of the rules is not a read of anyone's record
        authorize(uow, Actor("kim"), "rules.list", now=NOW)
    assert _log(engine) == [
        ("root", None, "user.add", "granted"),  # the first administrator, in open mode
        ("adm", "admin", "user.add", "granted"),
        ("adm", None, "audit.export.identified", "refused"),
        ("kim", "clinician", "audit.export.identified", "granted"),
        ("kim", "clinician", "episode.list", "granted"),
    ]


def test_concurrent_appends_never_fork_the_chain(engine: sa.Engine) -> None:
    """Writers racing on the chain head (emptied first, as a restore might leave it) queue on it."""
    import threading

    from pathway.db import access_log
    from pathway.db.engine import WRITE

    with engine.begin() as conn:
        conn.execute(sa.delete(AccessLogHeadRow))
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(10):
                with engine.connect() as conn:
                    conn.execution_options(**{WRITE: True})
                    with conn.begin():
                        access_log.append(conn, at=NOW, actor=f"w{n}", role=None, action="episode.list",
                                          outcome="refused", episode_id=i, detail={"n": n})  # fmt: skip
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with engine.connect() as conn:
        assert access_log.verify(conn) == []
        assert access_log.head(conn)[0] == 40
