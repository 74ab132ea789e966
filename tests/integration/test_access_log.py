"""The access log: refusals survive their command's rollback; granted identified exports are recorded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from pathway.db.models import AccessLogRow
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


def test_refusals_outlive_the_rollback_and_grants_are_logged_on_request(engine: sa.Engine) -> None:
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
    with UnitOfWork(engine) as uow:  # a read that is granted leaves no trace
        authorize(uow, Actor("kim"), "episode.list", now=NOW)
    assert _log(engine) == [
        ("adm", None, "audit.export.identified", "refused"),
        ("kim", "clinician", "audit.export.identified", "granted"),
    ]
