"""Writing many new episodes at once: what an import opens, in batches, in one transaction.

The rows are what ``episodes.open_episode`` and ``repository.append_event`` would write,
event for event (the same ``event_columns`` numbers and chains them), but computed in
memory (``episode_rows``, pure, so that worker processes can build them) and inserted
with SQLAlchemy Core, a batch of episodes, their events and their flags per statement.
Episode ids are drawn up front (``allocate_ids``) so that every hash can be chained
before the insert; the flags are those the episode's state calls for now
(``flags.new_flag_rows``), so the worklist is right the moment the transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from pathway.db import flags
from pathway.db.models import EpisodeRow, EventRow
from pathway.domain.patients import patient_key
from pathway.db.repository import event_columns
from pathway.domain.audit import GENESIS
from pathway.domain.decisions import Decision, EpisodeSnapshot, opening_fields
from pathway.domain.states import INITIAL

EPISODES: sa.Table = EpisodeRow.__table__  # type: ignore[assignment]
EVENTS: sa.Table = EventRow.__table__  # type: ignore[assignment]
SOURCE = "import"


@dataclass(frozen=True)
class Step:
    """One accepted step of a new episode: its file row, its decision and the role it is recorded in."""

    row: int
    decision: Decision
    role: str | None


@dataclass(frozen=True)
class NewEpisode:
    patient_ref: str
    side: str
    referred_on: date
    has_hip_arthroplasty: bool  # as opened (an amend may change it)
    open_row: int
    open_role: str | None
    steps: list[Step]
    final: EpisodeSnapshot  # after every step: the state, attributes and history to store


@dataclass(frozen=True)
class Recorded:
    """Who records, when, from which file: the same for every event of one import."""

    now: datetime
    actor: str
    sha256: str


def allocate_ids(connection: sa.Connection, n: int) -> list[int]:
    """``n`` new episode ids. SQLite: after the largest (the write lock is held); PostgreSQL: from the sequence."""
    if n == 0:
        return []
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            sa.text("SELECT nextval(pg_get_serial_sequence('episodes', 'id')) FROM generate_series(1, :n)"), {"n": n}
        )
        return [r[0] for r in rows]
    top = connection.execute(sa.select(sa.func.coalesce(sa.func.max(EPISODES.c.id), 0))).scalar_one()
    return list(range(top + 1, top + n + 1))


class Ids:
    """Episode ids handed out in order: on SQLite counted on from the largest (the write lock is
    held), on PostgreSQL drawn from the sequence, exactly as many as asked each time."""

    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.next: int | None = None

    def take(self, n: int) -> list[int]:
        if self.connection.dialect.name == "postgresql":
            return allocate_ids(self.connection, n)
        if self.next is None:
            self.next = allocate_ids(self.connection, 1)[0]
        taken = list(range(self.next, self.next + n))
        self.next += n
        return taken


def episode_rows(
    episode_id: int, episode: NewEpisode, recorded: Recorded
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The episode's row and its events' rows, chained, as the command line would have written them."""
    rules_version = episode.final.rules.version
    common: dict[str, Any] = {"recorded_at": recorded.now, "actor": recorded.actor, "source": SOURCE,
              "source_sha256": recorded.sha256}  # fmt: skip
    fields = opening_fields(episode.patient_ref, episode.side, episode.referred_on, episode.has_hip_arthroplasty)
    event = event_columns(
        episode_id=episode_id, seq=1, prev_hash=GENESIS, rules_version=rules_version, trigger="open",
        from_state=None, to_state=INITIAL, fields=fields, occurred_on=episode.referred_on,
        role=episode.open_role, source_row=episode.open_row, **common,
    )  # fmt: skip
    events = [event]
    entered = last = episode.final.referred_on  # an amended referral date is day 0 from the start
    for seq, step in enumerate(episode.steps, 2):
        d = step.decision
        event = event_columns(
            episode_id=episode_id, seq=seq, prev_hash=event["hash"], rules_version=rules_version,
            trigger=d.trigger, from_state=d.from_state, to_state=d.to_state, fields=d.fields,
            occurred_on=d.occurred_on, role=step.role, verdicts=d.verdicts, override_reason=d.override_reason,
            overridden=d.overridden, source_row=step.row, **common,
        )  # fmt: skip
        events.append(event)
        if d.from_state != d.to_state:
            entered = d.occurred_on
        last = max(last, d.occurred_on)
    count = len(events)
    row = {
        "id": episode_id,
        "patient_ref": episode.patient_ref,
        "patient_key": patient_key(episode.patient_ref),
        "side": episode.side,
        "referred_on": episode.final.referred_on,  # as amended, if it was
        "has_hip_arthroplasty": episode.final.has_hip_arthroplasty,
        "state": episode.final.state,
        "state_entered_on": entered,
        "last_event_on": last,
        "rules_version": rules_version,
        "opened_at": recorded.now,
        "opened_by": recorded.actor,
        "event_count": count,
        "head_hash": event["hash"],
        "version": count,
        "scheduled_seq": count,
    }
    return row, events


class Inserter:
    """Collects rows and inserts them a batch at a time in the caller's transaction."""

    def __init__(self, connection: sa.Connection, *, batch_events: int = 5_000) -> None:
        self.connection = connection
        self.batch_events = batch_events
        self.episodes: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.flags: list[dict[str, Any]] = []

    def add(self, episode: dict[str, Any], events: list[dict[str, Any]], flag_rows: list[dict[str, Any]]) -> None:
        self.episodes.append(episode)
        self.events += events
        self.flags += flag_rows
        if len(self.events) >= self.batch_events:
            self.flush()

    def flush(self) -> None:
        if self.episodes:
            self.connection.execute(sa.insert(EPISODES), self.episodes)
            self.connection.execute(sa.insert(EVENTS), self.events)
        if self.flags:
            flags.insert_new(self.connection, self.flags)
        self.episodes, self.events, self.flags = [], [], []
