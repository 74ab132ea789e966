"""Flags in the database: kept in step with every event, opened by the scheduled job.

Every event is followed, in its own transaction, by ``reconcile``: the episode's
expected flags (``domain.timers``) are compared with its stored ones, so that the next
deadlines are always stored, indexed by due day, and a flag the event satisfies (or makes
moot) is resolved on the spot. The scheduled job then needs one UPDATE to open every flag
that has come due (``open_due``).

Concurrency, PostgreSQL (READ COMMITTED): reconciliation runs after the event's flush,
that is after the version-checked UPDATE of the episode row, so it holds that row's lock;
it then locks the episode's unresolved flags (FOR UPDATE), which waits for a job that
is opening them and then sees them opened. The job claims rows with FOR UPDATE SKIP
LOCKED, so it never waits for a coordinator and two jobs never claim the same row; a
flag row exists once (unique on episode, kind, anchor, milestone), so opening is a
flip of ``opened_at`` that a second job cannot repeat. SQLite serialises writers
(BEGIN IMMEDIATE), so the same statements are safe there without the locking clauses.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session

from pathway.clock import site_timezone
from pathway.db.models import PENDING, UNSCHEDULED, EpisodeRow, EventRow, FlagRow, RuleRow
from pathway.domain.effective import effective_history
from pathway.domain.history import CORRECTIONS, RecordedEvent, facts_from
from pathway.domain.rules import RuleSet
from pathway.domain.states import TERMINAL
from pathway.domain.timers import ExpectedFlag, StoredFlag, expected_flags, reconcile

FLAGS: sa.Table = FlagRow.__table__  # type: ignore[assignment]
EPISODES: sa.Table = EpisodeRow.__table__  # type: ignore[assignment]
EVENTS: sa.Table = EventRow.__table__  # type: ignore[assignment]
_PENDING_KEY = "pathway.flags.reconcile"


@dataclass(frozen=True)
class EpisodeKey:
    """What reconciliation needs of an episode row."""

    id: int
    state: str
    referred_on: date
    rules_version: int


Known = tuple[Sequence[RecordedEvent], RuleSet]  # an episode's whole history (new event last) and its rules


def reconcile_after_flush(
    session: Session, episode: EpisodeRow, event: EventRow, *, known: Known | None = None
) -> None:
    """Queue ``episode`` for reconciliation once ``event`` is flushed (called by append_event).

    Deferred to the flush so that the episode's version check comes first: a stale
    write still fails at commit, and on PostgreSQL the episode row is locked before
    its flags are read. ``known`` is the history and rules the caller already read
    (the decision's): then they are not read again.
    """
    session.info.setdefault(_PENDING_KEY, []).append((episode, event, known))


@orm_event.listens_for(Session, "after_flush_postexec")
def _reconcile_pending(session: Session, _context: Any) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    connection = session.connection()
    # One reconciliation for every episode of the flush (a rule migration moves many):
    # the histories the callers already read, and one read for the others.
    if all(known is not None for _, _, known in pending) and len({k[1].version for _, _, k in pending}) == 1:
        given = {episode.id: [(event.id, e) for e in known[0]] for episode, event, known in pending}
        keys = [EpisodeKey(e.id, e.state, e.referred_on, e.rules_version) for e, _, _ in pending]
        reconcile_episodes(connection, keys, now=pending[-1][1].recorded_at, known=(given, pending[0][2][1]))
        return
    for episode, event, known in pending:
        key = EpisodeKey(episode.id, episode.state, episode.referred_on, episode.rules_version)
        one = None if known is None else ({episode.id: [(event.id, e) for e in known[0]]}, known[1])
        reconcile_episodes(connection, [key], now=event.recorded_at, known=one)


@orm_event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING_KEY, None)


def _insert(connection: sa.Connection) -> Any:
    if connection.dialect.name == "postgresql":  # the dialect modules load only for the back end in use
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(FLAGS).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(FLAGS).on_conflict_do_nothing()


def _locking(connection: sa.Connection, query: sa.Select, *, skip_locked: bool = False) -> sa.Select:
    """Row locks where the database has them; SQLite's BEGIN IMMEDIATE already serialises writers."""
    if connection.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=skip_locked)
    return query


class _RuleCache:
    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.sets: dict[int, RuleSet] = {}

    def __getitem__(self, version: int) -> RuleSet:
        if version not in self.sets:
            rows = self.connection.execute(
                sa.select(RuleRow.key, RuleRow.value).where(RuleRow.rule_set_version == version)
            )
            self.sets[version] = RuleSet(version, {key: value for key, value in rows})
        return self.sets[version]


def _events(connection: sa.Connection, ids: Sequence[int]) -> dict[int, list[tuple[int, RecordedEvent]]]:
    rows = connection.execute(
        sa.select(
            EVENTS.c.episode_id, EVENTS.c.id, EVENTS.c.seq, EVENTS.c.trigger, EVENTS.c.from_state,
            EVENTS.c.to_state, EVENTS.c.occurred_on, EVENTS.c.fields,
        )
        .where(EVENTS.c.episode_id.in_(ids))
        .order_by(EVENTS.c.episode_id, EVENTS.c.seq)
    )  # fmt: skip
    events: dict[int, list[tuple[int, RecordedEvent]]] = defaultdict(list)
    for r in rows:
        events[r.episode_id].append(
            (r.id, RecordedEvent(r.seq, r.trigger, r.from_state, r.to_state, r.occurred_on, r.fields))
        )
    return events


# Built once: every step reads its episode's open flags.
_OPEN_FLAGS = sa.select(
    FLAGS.c.id, FLAGS.c.episode_id, FLAGS.c.kind, FLAGS.c.anchor_on, FLAGS.c.milestone,
    FLAGS.c.due_on, FLAGS.c.overdue_on, FLAGS.c.opened_at,
).where(FLAGS.c.episode_id.in_(sa.bindparam("ids", expanding=True)), FLAGS.c.resolved_at.is_(None))  # fmt: skip


def _stored(connection: sa.Connection, ids: Sequence[int]) -> dict[int, list[StoredFlag]]:
    stored: dict[int, list[StoredFlag]] = defaultdict(list)
    for r in connection.execute(_locking(connection, _OPEN_FLAGS), {"ids": list(ids)}):
        stored[r.episode_id].append(
            StoredFlag(r.id, r.kind, r.anchor_on, r.milestone, r.due_on, r.overdue_on, r.opened_at is not None)
        )
    return stored


def reconcile_episodes(
    connection: sa.Connection,
    episodes: Iterable[EpisodeKey],
    *,
    now: datetime,
    known: tuple[dict[int, list[tuple[int, RecordedEvent]]], RuleSet] | None = None,
) -> int:
    """Bring these episodes' stored flags in line with their events; returns how many were resolved.

    The latest event of each episode is the one that resolves its flags that are no
    longer expected ("satisfied" when it is the awaited trigger, else "moved_on").
    ``known``: the episodes' events (with the latest one's id) and their rules, already
    read by the caller; else both are read here.
    """
    episodes = list(episodes)
    ids = [e.id for e in episodes]
    if not ids:
        return 0
    today = now.astimezone(site_timezone()).date()
    rules = _RuleCache(connection)
    if known is not None:
        events, given = known
        rules.sets[given.version] = given
    else:
        events = _events(connection, ids)
    stored = _stored(connection, ids)
    inserts: list[dict[str, Any]] = []
    retimes: list[dict[str, Any]] = []
    drops: list[int] = []
    resolves: list[dict[str, Any]] = []
    reopens: list[dict[str, Any]] = []
    for episode in episodes:
        history = events.get(episode.id, [])
        if not history:
            continue
        last_id, last = history[-1]
        facts = facts_from(episode.referred_on, effective_history([e for _, e in history]))
        expected = expected_flags(episode.state, facts, rules[episode.rules_version])
        plan = reconcile(
            expected, stored.get(episode.id, []), trigger=last.trigger, from_state=last.from_state, today=today
        )
        inserts += _flag_rows(episode.id, plan.insert)
        if last.trigger in CORRECTIONS:  # a flag resolved by an event that no longer counts is due again
            reopens += [
                {"b_episode": episode.id, "b_kind": f.kind, "b_anchor": f.anchor_on, "b_milestone": f.milestone,
                 "b_due": f.due_on, "b_overdue": f.overdue_on, "b_today": today}
                for f in plan.insert
            ]  # fmt: skip
        retimes += [
            {"b_id": row_id, "b_due": f.due_on, "b_overdue": f.overdue_on, "b_keep_open": keep}
            for row_id, f, keep in plan.retime
        ]
        drops += plan.drop
        resolves += [{"b_id": row_id, "b_how": how, "b_event": last_id} for row_id, how in plan.resolve]
    if reopens:
        _reopen(connection, reopens)
    if inserts:
        connection.execute(_insert(connection), inserts)
    if retimes:
        connection.execute(
            sa.update(FLAGS)
            .where(FLAGS.c.id == sa.bindparam("b_id"))
            .values(
                due_on=sa.bindparam("b_due"),
                overdue_on=sa.bindparam("b_overdue"),
                opened_at=sa.case((sa.bindparam("b_keep_open", type_=sa.Boolean), FLAGS.c.opened_at), else_=None),
            ),
            retimes,
        )
    if drops:
        connection.execute(sa.delete(FLAGS).where(FLAGS.c.id.in_(drops), FLAGS.c.opened_at.is_(None)))
    if resolves:
        connection.execute(
            sa.update(FLAGS)
            .where(FLAGS.c.id == sa.bindparam("b_id"), FLAGS.c.resolved_at.is_(None))
            .values(resolved_at=now, resolution=sa.bindparam("b_how"), resolved_event_id=sa.bindparam("b_event")),
            resolves,
        )
    return len(resolves)


def _reopen(connection: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Un-resolve flags expected again after a correction (same kind, anchor and milestone).

    One that was opened and is still due stays open (it was overdue all along); one not
    due yet goes back to waiting for its due day.
    """
    connection.execute(
        sa.update(FLAGS)
        .where(
            FLAGS.c.episode_id == sa.bindparam("b_episode"), FLAGS.c.kind == sa.bindparam("b_kind"),
            FLAGS.c.anchor_on == sa.bindparam("b_anchor"), FLAGS.c.milestone == sa.bindparam("b_milestone"),
            FLAGS.c.resolved_at.is_not(None),
        )
        .values(
            resolved_at=None, resolution=None, resolved_event_id=None,
            due_on=sa.bindparam("b_due"), overdue_on=sa.bindparam("b_overdue"),
            opened_at=sa.case((sa.bindparam("b_due", type_=sa.Date) <= sa.bindparam("b_today", type_=sa.Date),
                               FLAGS.c.opened_at), else_=None),
        ),
        rows,
    )  # fmt: skip


def _flag_rows(episode_id: int, flags: Iterable[ExpectedFlag]) -> list[dict[str, Any]]:
    return [
        {"episode_id": episode_id, "kind": f.kind, "anchor_on": f.anchor_on, "milestone": f.milestone,
         "due_on": f.due_on, "overdue_on": f.overdue_on, "opened_at": None}
        for f in flags
    ]  # fmt: skip


def new_flag_rows(episode: EpisodeKey, history: Sequence[RecordedEvent], rules: RuleSet) -> list[dict[str, Any]]:
    """The flag rows of an episode written in bulk with its whole history (an import).

    It has no stored flags yet, so there is nothing to re-time or resolve: only the flags its
    state calls for now, exactly those ``reconcile_episodes`` would store. Pure, so that
    worker processes can compute them.
    """
    return _flag_rows(episode.id, expected_flags(episode.state, facts_from(episode.referred_on, history), rules))


def insert_new(connection: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Insert flag rows from ``new_flag_rows``."""
    if rows:
        connection.execute(_insert(connection), rows)


def schedule_stale(connection: sa.Connection, *, after_id: int, limit: int, now: datetime) -> tuple[list[int], int]:
    """Reconcile up to ``limit`` episodes whose flags lag behind their events.

    In normal operation there are none (every event reconciles its episode); after the
    upgrade that introduced flags, every older episode is one. Marks each episode
    scheduled with a compare-and-set on its version, without bumping it: the version
    counts events, and scheduling is not an event. Returns the ids seen and the number
    of flags resolved.
    """
    query = (
        sa.select(EPISODES.c.id, EPISODES.c.state, EPISODES.c.referred_on, EPISODES.c.rules_version,
                  EPISODES.c.event_count, EPISODES.c.version)
        .where(sa.text(f"({UNSCHEDULED})"), EPISODES.c.id > after_id)
        .order_by(EPISODES.c.id)
        .limit(limit)
        .with_hint(EPISODES, "INDEXED BY ix_episodes_unscheduled", "sqlite")
    )  # fmt: skip
    rows = connection.execute(_locking(connection, query, skip_locked=True)).all()
    if not rows:
        return [], 0
    resolved = reconcile_episodes(
        connection, (EpisodeKey(r.id, r.state, r.referred_on, r.rules_version) for r in rows), now=now
    )
    connection.execute(
        sa.update(EPISODES)
        .where(EPISODES.c.id == sa.bindparam("b_id"), EPISODES.c.version == sa.bindparam("b_version"))
        .values(scheduled_seq=sa.bindparam("b_seq")),
        [{"b_id": r.id, "b_version": r.version, "b_seq": r.event_count} for r in rows],
    )
    return [r.id for r in rows], resolved


def schedule_missing(connection: sa.Connection, *, after_id: int, limit: int, now: datetime) -> tuple[list[int], int]:
    """Reconcile up to ``limit`` open episodes that have no unresolved flag at all.

    Every event keeps its episode's flags complete, so such an episode is one whose
    state needs no timer, or one whose flags were deleted behind pathway's back: the
    job does not trust the stored set and brings the missing ones back. Returns the
    ids seen and the number of flags resolved (none: nothing unresolved was stored).
    """
    unresolved = sa.select(FLAGS.c.id).where(FLAGS.c.episode_id == EPISODES.c.id, FLAGS.c.resolved_at.is_(None))
    query = (
        sa.select(EPISODES.c.id, EPISODES.c.state, EPISODES.c.referred_on, EPISODES.c.rules_version)
        .where(EPISODES.c.state.not_in(sorted(TERMINAL)), ~unresolved.exists(), EPISODES.c.id > after_id)
        .order_by(EPISODES.c.id)
        .limit(limit)
    )
    rows = connection.execute(_locking(connection, query, skip_locked=True)).all()
    resolved = reconcile_episodes(
        connection, (EpisodeKey(r.id, r.state, r.referred_on, r.rules_version) for r in rows), now=now
    )
    return [r.id for r in rows], resolved


def open_due(connection: sa.Connection, *, today: date, now: datetime) -> int:
    """Open every scheduled flag whose due day has come: one statement, read from ix_flags_pending."""
    due = sa.and_(sa.text(PENDING), FLAGS.c.due_on <= today)
    if connection.dialect.name == "postgresql":
        claimed = sa.select(FLAGS.c.id).where(due).with_for_update(skip_locked=True)
        statement = sa.update(FLAGS).where(FLAGS.c.id.in_(claimed))
    else:
        statement = sa.update(FLAGS).where(due)
    return connection.execute(statement.values(opened_at=now)).rowcount


def count_open(connection: sa.Connection) -> int:
    return connection.scalar(  # type: ignore[return-value]  # count(*) is never NULL
        sa.select(sa.func.count())
        .select_from(FLAGS)
        .where(FLAGS.c.opened_at.is_not(None), FLAGS.c.resolved_at.is_(None))
    )
