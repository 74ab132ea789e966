"""The access log as an administrator or reviewer reads it: who did what, to which episode, when."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

from pathway.clock import site_timezone
from pathway.db.models import AccessLogRow
from pathway.db.uow import UnitOfWork
from pathway.services import Actor
from pathway.services.access import authorize


def list_access(
    uow: UnitOfWork, *, user: str | None, episode_id: int | None, since: date | None, limit: int | None,
    actor: Actor, now: datetime, offset: int = 0, newest_first: bool = False,
) -> list[dict[str, Any]]:  # fmt: skip
    """Access-log rows, oldest first, filtered by user, episode and first day (site time).

    ``offset`` and ``newest_first`` are for a page that shows the latest rows, a page at a time.
    """
    authorize(uow, actor, "audit.access", now=now)
    query = sa.select(AccessLogRow).order_by(AccessLogRow.id.desc() if newest_first else AccessLogRow.id)
    if user is not None:
        query = query.where(AccessLogRow.actor == user)
    if episode_id is not None:
        query = query.where(AccessLogRow.episode_id == episode_id)
    if since is not None:
        query = query.where(AccessLogRow.at >= datetime.combine(since, time(), site_timezone()))
    if limit:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    return [
        {"id": r.id, "at": r.at.isoformat(), "actor": r.actor, "role": r.role, "auth": r.auth, "action": r.action,
         "outcome": r.outcome, "episode_id": r.episode_id, "detail": r.detail}
        for r in uow.session.scalars(query)
    ]  # fmt: skip
