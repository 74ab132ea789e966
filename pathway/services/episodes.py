"""Opening episodes and reading them back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from pathway.clock import site_timezone
from pathway.db import repository as repo
from pathway.db.models import EpisodeRow
from pathway.db.uow import UnitOfWork
from pathway.domain.audit import GENESIS
from pathway.domain.decisions import check_opening, opening_fields
from pathway.domain.effective import replay
from pathway.domain.fields import did_you_mean, quoted
from pathway.domain.patients import PatientRefError, normalise_patient_ref, patient_key
from pathway.domain.states import INITIAL, STATES
from pathway.errors import InvalidInput
from pathway.services import Actor
from pathway.services.views import episode_view, event_view


def check_patient_ref(text: str) -> str:
    """The reference normalised as stored (see ``domain.patients``), or InvalidInput that does not quote it."""
    try:
        return normalise_patient_ref(text)
    except PatientRefError as exc:
        raise InvalidInput(str(exc)) from None


def open_episode(
    uow: UnitOfWork,
    *,
    patient_ref: str,
    side: str,
    referred_on: date | None,
    has_hip_arthroplasty: bool,
    actor: Actor,
    now: datetime,
) -> int:
    ref = check_patient_ref(patient_ref)
    today = now.astimezone(site_timezone()).date()
    referred_on = referred_on or today
    check_opening(side, referred_on, today)
    session = uow.session
    existing = repo.open_episode_for(session, ref, side)
    if existing is not None:
        raise InvalidInput(
            f"This patient already has an open episode on the {side} side (episode {existing}); "
            "advance or close it rather than opening another."
        )
    rules = repo.rule_set_row(session)
    episode = EpisodeRow(
        patient_ref=ref,
        patient_key=patient_key(ref),
        side=side,
        referred_on=referred_on,
        has_hip_arthroplasty=has_hip_arthroplasty,
        state=INITIAL,
        state_entered_on=referred_on,
        last_event_on=referred_on,
        rules_version=rules.version,
        opened_at=now,
        opened_by=actor.name,
        event_count=0,
        head_hash=GENESIS,
        version=0,
    )
    session.add(episode)
    session.flush()
    fields = opening_fields(ref, side, referred_on, has_hip_arthroplasty)
    repo.append_event(
        session, episode, trigger="open", from_state=None, to_state=INITIAL, fields=fields,
        occurred_on=referred_on, recorded_at=now, actor=actor.name, role=actor.role, auth=actor.auth,
    )  # fmt: skip
    try:
        uow.commit()
    except IntegrityError:
        raise InvalidInput(
            f"This patient already has an open episode on the {side} side (opened just now by someone else)."
        ) from None
    return episode.id


def show_episode(uow: UnitOfWork, episode_id: int) -> dict[str, Any]:
    return episode_view(repo.get_episode(uow.session, episode_id))


def list_episodes(
    uow: UnitOfWork, *, state: str | None = None, patient_ref: str | None = None, limit: int | None = None
) -> Iterator[dict[str, Any]]:
    query = sa.select(EpisodeRow).order_by(EpisodeRow.id)
    if state is not None:
        if state not in STATES:
            raise InvalidInput(
                f"There is no state {quoted(state)}{did_you_mean(state, STATES)}. The states are: {', '.join(STATES)}."
            )
        query = query.where(EpisodeRow.state == state)
    if patient_ref is not None:
        query = query.where(repo.same_patient(EpisodeRow.patient_key, check_patient_ref(patient_ref)))
    if limit is not None:
        query = query.limit(limit)
    for row in uow.session.scalars(query.execution_options(yield_per=500)):
        yield episode_view(row)


def episode_history(uow: UnitOfWork, episode_id: int, *, effective: bool = False) -> list[dict[str, Any]]:
    """Every recorded event with its status (``effective``, ``corrected by N``, ``entered in error by N``),
    or, ``effective``, the history as it now counts: voided events left out, corrections applied."""
    repo.get_episode(uow.session, episode_id)
    rows = repo.events_of(uow.session, episode_id)
    result = replay([repo.recorded(e) for e in rows])
    if not effective:
        return [event_view(e) | {"status": str(result.statuses[e.seq])} for e in rows]
    by_seq = {e.seq: e for e in rows}
    return [
        event_view(by_seq[x.seq]) | {
            "from_state": x.from_state, "to_state": x.to_state, "occurred_on": x.occurred_on.isoformat(),
            "fields": dict(x.fields), "status": str(result.statuses[x.seq]),
        }
        for x in result.events
    ]  # fmt: skip
