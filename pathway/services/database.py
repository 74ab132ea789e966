"""Database administration: upgrade and a summary of what is in it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pathway.db import migrate
from pathway.db.engine import shown
from pathway.db.models import EpisodeRow, EventRow, RuleSetRow, UserRow
from pathway.db.uow import UnitOfWork
from pathway.services.access import access_mode


def info(uow: UnitOfWork) -> dict[str, Any]:
    session = uow.session
    current = migrate.current_revision(uow.connection)
    head = migrate.head_revision()
    result: dict[str, Any] = {
        "mode": "direct",
        "url": shown(uow.engine.url),
        "backend": uow.connection.dialect.name,
        "revision": current,
        "head": head,
        "up_to_date": current == head,
    }
    if current == head:
        by_state = session.execute(sa.select(EpisodeRow.state, sa.func.count()).group_by(EpisodeRow.state)).all()
        result["counts"] = {
            "episodes": sum(n for _, n in by_state),
            "events": session.scalar(sa.select(sa.func.count()).select_from(EventRow)),
            "rule_sets": session.scalar(sa.select(sa.func.count()).select_from(RuleSetRow)),
        }
        result["episodes_by_state"] = dict(sorted(by_state))
        result["active_rules_version"] = session.scalar(
            sa.select(RuleSetRow.version).where(RuleSetRow.status == "active")
        )
        result["access"] = {
            "mode": access_mode(session),
            "users": session.scalar(sa.select(sa.func.count()).select_from(UserRow)),
            "active_users": session.scalar(
                sa.select(sa.func.count()).select_from(UserRow).where(UserRow.disabled_at.is_(None))
            ),
        }
    return result
