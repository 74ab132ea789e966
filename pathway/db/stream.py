"""Reading the whole audit trail without holding it in memory.

Verification and exports walk every event of every episode: these readers stream rows
in episode and sequence order (a server-side cursor on PostgreSQL, SQLite's own
stepping cursor) so that memory stays flat however many events there are. All reads
of one command share one snapshot (REPEATABLE READ on PostgreSQL; on SQLite a read
transaction is a snapshot already), so an episode row and its events always agree
even while coordinators keep writing.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from operator import attrgetter

import sqlalchemy as sa

from pathway.db.models import EpisodeRow, EventRow, RevisionRow
from pathway.domain.verify import EpisodeHead, StoredEvent, StoredRevision

BATCH = 2_000

_EVENT_COLUMNS = [EventRow.__table__.c[name] for name in StoredEvent.__dataclass_fields__]
_HEAD_COLUMNS = [EpisodeRow.__table__.c[name] for name in EpisodeHead.__dataclass_fields__]
_REVISION_COLUMNS = [RevisionRow.__table__.c[name] for name in StoredRevision.__dataclass_fields__]


def snapshot(connection: sa.Connection) -> sa.Connection:
    """Make every later read on ``connection`` see one consistent snapshot."""
    if connection.dialect.name == "postgresql" and not connection.in_transaction():
        connection.execution_options(isolation_level="REPEATABLE READ")
    return connection


def streamed(connection: sa.Connection, query: sa.Executable) -> sa.Result:
    return connection.execution_options(stream_results=True, yield_per=BATCH).execute(query)


def _stored_events(connection: sa.Connection, episode_id: int | None) -> Iterator[StoredEvent]:
    query = sa.select(*_EVENT_COLUMNS).order_by(EventRow.episode_id, EventRow.seq)
    if episode_id is not None:
        query = query.where(EventRow.episode_id == episode_id)
    for row in streamed(connection, query):
        yield StoredEvent(*row)


def _heads(connection: sa.Connection, episode_id: int | None) -> Iterator[EpisodeHead]:
    query = sa.select(*_HEAD_COLUMNS).order_by(EpisodeRow.id)
    if episode_id is not None:
        query = query.where(EpisodeRow.id == episode_id)
    for row in streamed(connection, query):
        yield EpisodeHead(*row)


def chains(
    connection: sa.Connection, episode_id: int | None = None
) -> Iterator[tuple[int, EpisodeHead | None, list[StoredEvent]]]:
    """Each episode id with its row (None if missing) and its events in order.

    A merge of two ordered streams, so that events without an episode row and rows
    without events are reported too.
    """
    heads = _heads(connection, episode_id)
    per_episode = groupby(_stored_events(connection, episode_id), key=attrgetter("episode_id"))
    head = next(heads, None)
    group = next(per_episode, None)
    while head is not None or group is not None:
        if group is None or (head is not None and head.id < group[0]):
            yield head.id, head, []  # type: ignore[union-attr]
            head = next(heads, None)
        elif head is None or group[0] < head.id:
            yield group[0], None, list(group[1])
            group = next(per_episode, None)
        else:
            yield head.id, head, list(group[1])
            head, group = next(heads, None), next(per_episode, None)


def revisions(connection: sa.Connection, episode_id: int | None = None) -> dict[int, list[StoredRevision]]:
    """Every episode's revisions, by episode (held in memory: only corrected episodes have any)."""
    query = sa.select(RevisionRow.episode_id, *_REVISION_COLUMNS).order_by(RevisionRow.episode_id, RevisionRow.seq)
    if episode_id is not None:
        query = query.where(RevisionRow.episode_id == episode_id)
    found: dict[int, list[StoredRevision]] = {}
    for row in connection.execute(query):
        found.setdefault(row[0], []).append(StoredRevision(*row[1:]))
    return found
