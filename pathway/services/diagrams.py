"""Where an episode stands on the pathway and the way it came, for diagrams."""

from __future__ import annotations

from typing import Any

from pathway.db import repository as repo
from pathway.db.uow import UnitOfWork
from pathway.diagrams.graph import steps_of
from pathway.domain.effective import effective_history


def episode_marking(uow: UnitOfWork, episode_id: int) -> dict[str, Any]:
    episode = repo.get_episode(uow.session, episode_id)
    events = effective_history([repo.recorded(e) for e in repo.events_of(uow.session, episode_id)])
    steps = steps_of((e.from_state, e.to_state) for e in events)  # the way it came, as it now counts
    return {"id": episode.id, "state": episode.state, "steps": [list(step) for step in steps]}
