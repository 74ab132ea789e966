"""Everything the episode page shows, read in one unit of work with a fixed number of queries.

The page must cost the same for an episode of 200 events as for one of 5, so each kind
of row is read once (the episode, its events, its flags) and the rest is computed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pathway.clock import site_timezone
from pathway.db import repository as repo
from pathway.db.models import UNRESOLVED, FlagRow
from pathway.db.uow import UnitOfWork
from pathway.diagrams.graph import steps_of
from pathway.domain.decisions import options
from pathway.domain.effective import replay
from pathway.domain.summary import clinical_summary
from pathway.domain.timers import clearing_triggers
from pathway.domain.triggers import TRIGGERS
from pathway.services.corrections import change_rights
from pathway.services.views import episode_view, event_view
from pathway.services.worklist import status


def episode_overview(uow: UnitOfWork, *, episode_id: int, now: datetime) -> dict[str, Any]:
    """The episode, its timeline (every event with its status), latest values, open flags and next steps."""
    session = uow.session
    episode = repo.get_episode(session, episode_id)
    today = now.astimezone(site_timezone()).date()
    rows = repo.events_of(session, episode_id)
    records = [repo.recorded(e) for e in rows]
    result = replay(records)
    by_seq = {e.seq: e for e in rows}
    effective = [
        event_view(by_seq[x.seq]) | {"from_state": x.from_state, "to_state": x.to_state,
                                     "occurred_on": x.occurred_on.isoformat(), "fields": dict(x.fields)}
        for x in result.events
    ]  # fmt: skip
    flags = session.execute(
        sa.select(FlagRow).where(FlagRow.episode_id == episode_id, sa.text(UNRESOLVED)).order_by(FlagRow.overdue_on)
    ).scalars()
    snapshot = repo.snapshot(session, episode, events=records)
    rights = change_rights(rows)
    return {
        "episode": episode_view(episode),
        "days_in_state": (today - episode.state_entered_on).days,
        "timeline": [event_view(e) | {"status": str(result.statuses[e.seq]), "needs": rights.get(e.seq)} for e in rows],
        "summary": clinical_summary(effective),
        "flags": [{"kind": f.kind, "milestone": f.milestone if f.kind == "postop_followup" else None,
                   "due_on": f.due_on.isoformat(), "overdue_on": f.overdue_on.isoformat(),
                   "status": status(f.due_on, f.overdue_on, today), "opened": f.opened_at is not None,
                   "triggers": list(clearing_triggers(f.kind, episode.state))} for f in flags],  # fmt: skip
        "steps": [list(s) for s in steps_of((e["from_state"], e["to_state"]) for e in effective)],
        "next": [
            {"trigger": o.trigger, "allowed": o.allowed, "reasons": o.reasons, "summary": o.summary,
             "fields": [f.as_dict() for f in TRIGGERS[o.trigger].fields],
             "guards": [v.as_dict() for v in o.verdicts]}
            for o in options(snapshot, today)
        ],  # fmt: skip
        "today": today.isoformat(),
    }

