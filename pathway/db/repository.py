"""Loading episodes and rules into domain objects, and appending events.

``snapshot`` is the one place an episode's history is read for a decision: one Core
query for the events (no ORM objects), one for its rules. ``append_event`` is the only
code that writes an event: it numbers it, chains its hash and moves the episode's
projection (state, dates, chain head) in the same flush, and brings the episode's
flags in line with it in the same transaction (db/flags.py), from the history the
decision already read when it is given, so that a step reads its history once. After
an event that changes what earlier events say (a correction, a void, an amendment),
``project`` sets the episode row and its revisions to what the re-derived history gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from pathway.db import flags
from pathway.db.models import EpisodeRow, EventRow, RevisionRow, RuleRow, RuleSetRow
from pathway.domain.audit import GENESIS, chain_hash, event_payload
from pathway.domain.decisions import EpisodeSnapshot
from pathway.domain.fields import canonical_value
from pathway.domain.patients import CONFLICT, patient_key
from pathway.domain.effective import Replay, effective_history, revisions
from pathway.domain.guards import Verdict
from pathway.domain.history import RecordedEvent
from pathway.domain.rules import RuleSet
from pathway.domain.states import TERMINAL
from pathway.errors import InvalidInput, NotFound


def get_episode(session: Session, episode_id: int, *, lock: bool = False) -> EpisodeRow:
    """The episode row; with ``lock``, locked until the transaction ends (FOR UPDATE on
    PostgreSQL; a SQLite write transaction already holds the whole file), so that
    concurrent writers queue and each is judged on the state it actually follows.

    Within one transaction the row is read once: access checks and the service share it
    (the session's identity map alone holds it weakly, and a lock would read it again).
    """
    seen: tuple[Any, dict[int, tuple[EpisodeRow, bool]]] | None = session.info.get(_SEEN)
    if seen is not None and seen[0] is session.get_transaction():
        held = seen[1].get(episode_id)
        if held is not None and (held[1] or not lock):
            return held[0]
    episode = session.execute(_LOCKED if lock else _EPISODE, {"id": episode_id}).scalar_one_or_none()
    if episode is None:
        raise NotFound(f"There is no episode {episode_id}; `pathway episode list` shows the episodes.")
    transaction = session.get_transaction()
    if seen is None or seen[0] is not transaction:
        seen = session.info[_SEEN] = (transaction, {})
    seen[1][episode_id] = (episode, lock)
    return episode


_SEEN = "pathway_episodes_read"  # session.info: (transaction, {episode id: (row, locked)})
# Built once (every request that names an episode reads it): half the cost of Session.get.
# A locked read refreshes a row the session already holds: it may have changed meanwhile.
_EPISODE = sa.select(EpisodeRow).where(EpisodeRow.id == sa.bindparam("id"))
_LOCKED = _EPISODE.with_for_update().execution_options(populate_existing=True)


def events_of(session: Session, episode_id: int) -> Sequence[EventRow]:
    return session.scalars(sa.select(EventRow).where(EventRow.episode_id == episode_id).order_by(EventRow.seq)).all()


def rule_set_row(session: Session, version: int | None = None) -> RuleSetRow:
    """A rule set by version, or the active one."""
    query = sa.select(RuleSetRow)
    query = (
        query.where(RuleSetRow.version == version)
        if version is not None
        else query.where(RuleSetRow.status == "active")
    )
    row = session.scalars(query).first()
    if row is None:
        if version is None:
            raise InvalidInput("No rule set is active; activate one with `pathway rules activate N`.")
        raise NotFound(f"There is no rule set version {version}; `pathway rules show` shows the active one.")
    return row


_RULES = sa.select(RuleRow.rule_set_version, RuleRow.key, RuleRow.value).where(
    RuleRow.rule_set_version.in_(sa.bindparam("versions", expanding=True))
)  # built once: every step reads its rules


def rule_set(session: Session, version: int) -> RuleSet:
    return rule_sets(session, {version})[version]


def rule_sets(session: Session, versions: set[int]) -> dict[int, RuleSet]:
    """Several rule sets in one query (an episode's history may span a rule migration)."""
    values: dict[int, dict[str, Any]] = {v: {} for v in versions}
    rows = session.connection().execute(_RULES, {"versions": sorted(versions)})
    for version, key, value in rows:
        values[version][key] = value
    return {version: RuleSet(version, found) for version, found in values.items()}


def recorded(event: EventRow) -> RecordedEvent:
    return RecordedEvent(
        event.seq, event.trigger, event.from_state, event.to_state, event.occurred_on, event.fields,
        event.rules_version, tuple(event.overridden_guards or ()),
    )  # fmt: skip


_E: sa.Table = EventRow.__table__  # type: ignore[assignment]
_COLUMNS = (_E.c.seq, _E.c.trigger, _E.c.from_state, _E.c.to_state, _E.c.occurred_on, _E.c.fields,
            _E.c.rules_version, _E.c.overridden_guards)  # fmt: skip
_HISTORY = sa.select(*_COLUMNS).where(_E.c.episode_id == sa.bindparam("episode_id")).order_by(_E.c.seq)


def _recorded(row: Sequence[Any]) -> RecordedEvent:
    seq, trigger, from_state, to_state, on, fields, version = row[:7]
    return RecordedEvent(seq, trigger, from_state, to_state, on, fields, version, tuple(row[7] or ()))


def history(session: Session, episode_id: int) -> list[RecordedEvent]:
    """The episode's events as recorded, in order: one Core query, no ORM objects."""
    return [_recorded(row) for row in session.connection().execute(_HISTORY, {"episode_id": episode_id})]


_RULE = RuleRow.__table__.c
# The events of an episode and the rules of its version in one round trip: rule rows come
# back in the events' columns (key as trigger, value as fields) with no seq.
_HISTORY_AND_RULES = sa.union_all(
    sa.select(*_COLUMNS).where(_E.c.episode_id == sa.bindparam("episode_id")),
    sa.select(sa.null(), _RULE.key, sa.null(), sa.null(), sa.null(), _RULE.value, _RULE.rule_set_version,
              sa.null()).where(_RULE.rule_set_version == sa.bindparam("version")),  # fmt: skip
).order_by(sa.literal_column("1"))


def history_and_rules(session: Session, episode_id: int, version: int) -> tuple[list[RecordedEvent], RuleSet]:
    """The episode's recorded events in order, and the rule set ``version``: one query, as every step pays it."""
    records, values = [], {}
    for row in session.connection().execute(_HISTORY_AND_RULES, {"episode_id": episode_id, "version": version}):
        if row[0] is None:
            values[row[1]] = row[5]
        else:
            records.append(_recorded(row))
    return records, RuleSet(version, values)


def histories(session: Session, episode_ids: Sequence[int]) -> dict[int, list[RecordedEvent]]:
    """Several episodes' recorded histories in one query (a rule migration judges many at once)."""
    found: dict[int, list[RecordedEvent]] = {eid: [] for eid in episode_ids}
    query = sa.select(_E.c.episode_id, *_COLUMNS).where(_E.c.episode_id.in_(episode_ids))
    for row in session.connection().execute(query.order_by(_E.c.episode_id, _E.c.seq)):
        found[row[0]].append(_recorded(row[1:]))
    return found


def snapshot(
    session: Session,
    episode: EpisodeRow,
    *,
    rules: Mapping[int, RuleSet] | None = None,
    events: Sequence[RecordedEvent] | None = None,
) -> EpisodeSnapshot:
    """The episode for a decision: its effective history, and the record behind it.

    ``events`` (the recorded history) and ``rules`` (rule sets by version) when the
    caller has already read them; what is missing is read here.
    """
    known: dict[int, RuleSet] = {}
    if events is not None:
        records = list(events)
    elif rules is not None and episode.rules_version in rules:
        records = history(session, episode.id)
    else:
        records, current = history_and_rules(session, episode.id, episode.rules_version)
        known[current.version] = current
    wanted = {episode.rules_version, *(e.rules_version for e in records if e.rules_version)}
    known.update({v: rules[v] for v in wanted if rules is not None and v in rules and v not in known})
    if len(known) < len(wanted):
        known.update(rule_sets(session, wanted - known.keys()))
    return EpisodeSnapshot(
        id=episode.id,
        state=episode.state,
        referred_on=episode.referred_on,
        has_hip_arthroplasty=episode.has_hip_arthroplasty,
        rules=known[episode.rules_version],
        events=effective_history(records),
        side=episode.side,
        patient_ref=episode.patient_ref,
        recorded=records,
        rule_sets=known,
    )


def same_patient(column: sa.ColumnElement[Any] | InstrumentedAttribute[Any], ref: str) -> sa.ColumnElement[bool]:
    """``column`` (a patient_key) is the key of ``ref``: the same patient, whatever the case.

    Also matches the key an older clashing episode was given by migration 0008 (the key,
    ``#`` and its id), so that it still counts as the same patient.
    """
    key = patient_key(ref)
    return sa.or_(column == key, column.startswith(key + CONFLICT, autoescape=True))


def open_episode_for(session: Session, patient_ref: str, side: str, *, other_than: int | None = None) -> int | None:
    """The open episode of this patient on this side, if any (one at most may exist)."""
    query = sa.select(EpisodeRow.id).where(
        same_patient(EpisodeRow.patient_key, patient_ref), EpisodeRow.side == side, EpisodeRow.state.not_in(TERMINAL)
    )
    if other_than is not None:
        query = query.where(EpisodeRow.id != other_than)
    return session.scalar(query.limit(1))


def project(session: Session, episode: EpisodeRow, records: Sequence[RecordedEvent], result: Replay) -> None:
    """Make the episode row and its revisions what the re-derived history ``result`` gives.

    Called after the event that changed the history was appended, in its transaction;
    refuses (leaving the caller to roll back) when the episode would become a second
    open episode of its patient and side.
    """
    attrs = result.attributes
    if result.state not in TERMINAL:  # it may have been reopened, or moved to another patient or side
        other = open_episode_for(session, attrs.patient_ref or "", attrs.side or "", other_than=episode.id)
        if other is not None:
            raise InvalidInput(
                f"This would give the patient two open episodes on the {attrs.side} side (this one and episode "
                f"{other}); close or correct the other episode first. Nothing was changed."
            )
    episode.state = result.state
    episode.state_entered_on = result.state_entered_on
    episode.last_event_on = result.last_event_on
    episode.referred_on = attrs.referred_on or episode.referred_on
    episode.side = attrs.side or episode.side
    if attrs.patient_ref and attrs.patient_ref != episode.patient_ref:  # a key of migration 0008 stays until then
        episode.patient_ref = attrs.patient_ref
        episode.patient_key = patient_key(attrs.patient_ref)
    episode.has_hip_arthroplasty = attrs.has_hip_arthroplasty
    session.execute(sa.delete(RevisionRow).where(RevisionRow.episode_id == episode.id))
    rows = [
        {"episode_id": episode.id, "seq": r.seq, "status": r.status.kind, "by_seq": r.status.by,
         "from_state": r.from_state, "to_state": r.to_state, "occurred_on": r.occurred_on,
         "fields": canonical_value(r.fields)}
        for r in revisions(records, result)
    ]  # fmt: skip
    if rows:
        session.execute(sa.insert(RevisionRow), rows)


def event_columns(
    *,
    episode_id: int,
    seq: int,
    prev_hash: str,
    rules_version: int,
    trigger: str,
    from_state: str | None,
    to_state: str,
    fields: dict[str, Any],
    occurred_on: date,
    recorded_at: datetime,
    actor: str,
    role: str | None,
    verdicts: Sequence[Verdict] = (),
    override_reason: str | None = None,
    overridden: Sequence[str] = (),
    source: str | None = None,
    source_sha256: str | None = None,
    source_row: int | None = None,
    auth: str = "claimed",
) -> dict[str, Any]:
    """Every column of one event, its hash chained to ``prev_hash`` (for the ORM or a bulk insert)."""
    columns: dict[str, Any] = {
        "episode_id": episode_id,
        "seq": seq,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "fields": canonical_value(fields),  # hashed as the database will give it back
        "occurred_on": occurred_on,
        "recorded_at": recorded_at,
        "actor": actor,
        "role": role,
        "rules_version": rules_version,
        "guards": [v.as_dict() for v in verdicts],
        "override_reason": override_reason,
        "overridden_guards": list(overridden),
        "source": source,
        "source_sha256": source_sha256,
        "source_row": source_row,
        "auth": auth,
    }
    columns["prev_hash"] = prev_hash
    columns["hash"] = chain_hash(prev_hash, event_payload(**{k: v for k, v in columns.items() if k != "prev_hash"}))
    return columns


def append_event(
    session: Session,
    episode: EpisodeRow,
    *,
    trigger: str,
    from_state: str | None,
    to_state: str,
    fields: dict[str, Any],
    occurred_on: date,
    recorded_at: datetime,
    actor: str,
    role: str | None,
    verdicts: Sequence[Verdict] = (),
    override_reason: str | None = None,
    overridden: Sequence[str] = (),
    source: str | None = None,
    source_sha256: str | None = None,
    source_row: int | None = None,
    auth: str = "claimed",
    judged: EpisodeSnapshot | None = None,
) -> EventRow:
    """Append one event to ``episode`` and move the episode's projection with it.

    ``judged`` is the snapshot the event was decided on (same rules, every earlier
    event as recorded): the flags are then reconciled from it without reading the
    history again.
    """
    seq = (episode.event_count or 0) + 1
    event = EventRow(
        **event_columns(
            episode_id=episode.id, seq=seq, prev_hash=episode.head_hash or GENESIS,
            rules_version=episode.rules_version, trigger=trigger, from_state=from_state, to_state=to_state,
            fields=fields, occurred_on=occurred_on, recorded_at=recorded_at, actor=actor, role=role,
            verdicts=verdicts, override_reason=override_reason, overridden=overridden,
            source=source, source_sha256=source_sha256, source_row=source_row, auth=auth,
        )  # fmt: skip
    )
    session.add(event)
    if to_state != from_state:
        episode.state_entered_on = occurred_on
    episode.state = to_state
    episode.last_event_on = max(episode.last_event_on or occurred_on, occurred_on)
    episode.event_count = seq
    episode.version = seq
    episode.head_hash = event.hash
    episode.scheduled_seq = seq
    known = None
    if judged is not None and judged.recorded and judged.rules.version == episode.rules_version:
        known = ([*judged.recorded, recorded(event)], judged.rules)
    flags.reconcile_after_flush(session, episode, event, known=known)
    return event
