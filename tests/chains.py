"""Checking stored episodes the way an auditor would, independently of the commands.

Used by the persistence, concurrency, crash and backup tests: every chain must verify,
each episode's version must equal its event count, and its state must be the one its
event log leads to through edges PATHWAY.md allows.
"""

from __future__ import annotations

import sqlalchemy as sa

from pathway.db import repository as repo
from pathway.db.models import EpisodeRow
from pathway.db.uow import UnitOfWork
from pathway.domain.audit import GENESIS, chain_hash, payload_of
from tests.pathway_spec import TRANSITIONS

EXTRA_EDGES = {("reassess", "conservative_care", "discharged")}  # reassess with outcome resolved


def episode_problems(uow: UnitOfWork, episode: EpisodeRow) -> list[str]:
    """What is wrong with one episode's chain and projection (empty when all is well)."""
    problems = []
    prev, state, count = GENESIS, None, 0
    for e in repo.events_of(uow.session, episode.id):
        count += 1
        payload = payload_of(e)
        if e.seq != count:
            problems.append(f"event {e.id} has seq {e.seq}, expected {count}")
        if e.prev_hash != prev or chain_hash(prev, payload) != e.hash:
            problems.append(f"event seq {e.seq} breaks the hash chain")
        if e.from_state != state:
            problems.append(f"event seq {e.seq} starts from {e.from_state}, but the log was at {state}")
        legal = (
            (e.trigger == "open" and e.from_state is None and e.to_state == "referred")
            or TRANSITIONS.get(e.trigger, {}).get(e.from_state or "") == e.to_state
            or (e.trigger, e.from_state, e.to_state) in EXTRA_EDGES
            or (e.trigger == "migrate_rules" and e.from_state == e.to_state)  # re-pinned, state unchanged
        )
        if not legal:
            problems.append(f"event seq {e.seq}: {e.trigger} does not lead from {e.from_state} to {e.to_state}")
        prev, state = e.hash, e.to_state
    if episode.head_hash != prev:
        problems.append("the episode's head hash is not its last event's hash")
    if not episode.version == episode.event_count == count:
        problems.append(f"version {episode.version}, event_count {episode.event_count}, events {count}")
    if episode.state != state:
        problems.append(f"the episode is {episode.state} but its log ends at {state}")
    return [f"episode {episode.id}: {p}" for p in problems]


def database_problems(engine: sa.Engine) -> list[str]:
    """Every problem of every episode in the database."""
    with UnitOfWork(engine) as uow:
        episodes = uow.session.scalars(sa.select(EpisodeRow).order_by(EpisodeRow.id)).all()
        return [p for episode in episodes for p in episode_problems(uow, episode)]


def chain_ok(engine: sa.Engine, episode_id: int) -> bool:
    with UnitOfWork(engine) as uow:
        return not episode_problems(uow, repo.get_episode(uow.session, episode_id))
