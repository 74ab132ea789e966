"""Loading episodes and rules into domain objects, and appending events.

``append_event`` is the only code that writes an event: it numbers it, chains its
hash and moves the episode's projection (state, dates, chain head) in the same flush,
and brings the episode's flags in line with it in the same transaction (db/flags.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pathway.db import flags
from pathway.db.models import EpisodeRow, EventRow, RuleRow, RuleSetRow
from pathway.domain.audit import GENESIS, chain_hash, event_payload
from pathway.domain.decisions import EpisodeSnapshot
from pathway.domain.guards import Verdict
from pathway.domain.history import RecordedEvent
from pathway.domain.rules import RuleSet
from pathway.errors import InvalidInput, NotFound


def get_episode(session: Session, episode_id: int) -> EpisodeRow:
    episode = session.get(EpisodeRow, episode_id)
    if episode is None:
        raise NotFound(f"There is no episode {episode_id}; `pathway episode list` shows the episodes.")
    return episode


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


def rule_set(session: Session, version: int) -> RuleSet:
    rows = session.execute(sa.select(RuleRow.key, RuleRow.value).where(RuleRow.rule_set_version == version)).all()
    return RuleSet(version, {key: value for key, value in rows})


def recorded(event: EventRow) -> RecordedEvent:
    return RecordedEvent(event.seq, event.trigger, event.from_state, event.to_state, event.occurred_on, event.fields)


def snapshot(session: Session, episode: EpisodeRow) -> EpisodeSnapshot:
    return EpisodeSnapshot(
        id=episode.id,
        state=episode.state,
        referred_on=episode.referred_on,
        has_hip_arthroplasty=episode.has_hip_arthroplasty,
        rules=rule_set(session, episode.rules_version),
        events=[recorded(e) for e in events_of(session, episode.id)],
    )


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
) -> EventRow:
    """Append one event to ``episode`` and move the episode's projection with it."""
    seq = (episode.event_count or 0) + 1
    prev_hash = episode.head_hash or GENESIS
    guards = [v.as_dict() for v in verdicts]
    payload = event_payload(
        episode_id=episode.id,
        seq=seq,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        fields=fields,
        occurred_on=occurred_on,
        recorded_at=recorded_at,
        actor=actor,
        role=role,
        rules_version=episode.rules_version,
        guards=guards,
        override_reason=override_reason,
        overridden_guards=list(overridden),
    )
    event = EventRow(
        episode_id=episode.id,
        seq=seq,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        fields=fields,
        occurred_on=occurred_on,
        recorded_at=recorded_at,
        actor=actor,
        role=role,
        rules_version=episode.rules_version,
        guards=guards,
        override_reason=override_reason,
        overridden_guards=list(overridden),
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, payload),
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
    flags.reconcile_after_flush(session, episode, event)
    return event
