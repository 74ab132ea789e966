"""Proving the audit trail intact: every chain recomputed against its episode row."""

from __future__ import annotations

from typing import Any

from pathway.db import stream
from pathway.db.uow import UnitOfWork
from pathway.domain.verify import verify_episode
from pathway.errors import NotFound


def verify(uow: UnitOfWork, *, episode_id: int | None = None) -> dict[str, Any]:
    """Recompute every chain (or one episode's); report the first broken link of each."""
    connection = stream.snapshot(uow.connection)
    broken = []
    episodes = events = 0
    for eid, head, chain in stream.chains(connection, episode_id):
        episodes += 1
        events += len(chain)
        found = verify_episode(eid, head, chain)
        if found is not None:
            broken.append(found.as_dict())
    if episode_id is not None and not episodes:
        raise NotFound(f"There is no episode {episode_id}; `pathway episode list` shows the episodes.")
    return {"intact": not broken, "episodes": episodes, "events": events, "broken": broken}
