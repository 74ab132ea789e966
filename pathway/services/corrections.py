"""Correcting the record: `correct` and `void`, and re-deriving an episode after either.

Nothing recorded is edited. A correction or a void is a new event on the episode's
chain; the episode row and its revisions are then set to what replaying the effective
history gives (``domain.effective.replay``), in the same transaction. A change that
would leave a later step unsupported is refused naming each such step, unless a
clinician overrides it; the override is recorded on the correcting event, for those
steps and guards, and counted as a deviation (``domain.corrections``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from pathway.clock import site_timezone
from pathway.db import repository as repo
from pathway.db.models import EpisodeRow, EventRow
from pathway.db.uow import UnitOfWork
from pathway.domain import access
from pathway.domain.corrections import Change, correction_fields, propose, target_event
from pathway.domain.decisions import EpisodeSnapshot, parse_assignments
from pathway.domain.effective import replay
from pathway.domain.fields import FieldError, check_text
from pathway.domain.history import CORRECT, CORRECTIONS, MIGRATE_RULES, OPEN, VOID
from pathway.errors import Conflict, InvalidInput, NotFound
from pathway.faults import fault_point
from pathway.services import CHANGED_MEANWHILE, Actor, check_version
from pathway.services.episodes import check_patient_ref
from pathway.services.views import event_view

CHANGE_ACTIONS = {CORRECT: access.CORRECT, VOID: access.VOID}


def _stored_event(session: Session, episode_id: int, seq: int) -> EventRow:
    event = session.scalar(sa.select(EventRow).where(EventRow.episode_id == episode_id, EventRow.seq == seq))
    if event is None:
        raise NotFound(f"Episode {episode_id} has no event {seq}; `pathway episode history {episode_id}` lists them.")
    return event


def record_rights(event: EventRow, lookup: Callable[[int], EventRow], names: Sequence[str] = ()) -> tuple[str, ...]:
    """The rights recording ``event`` needed (a correction: those of the event it changed, and its own).

    ``lookup`` finds another event of the episode by number: a query, or the page's rows already read.
    """
    overridden = bool(event.override_reason)
    if event.trigger in CORRECTIONS:
        target = lookup(int(event.fields["seq"]))
        inner = record_rights(target, lookup, list(event.fields.get("set", {})))
        needed = access.change_actions(CHANGE_ACTIONS[event.trigger], inner)
        return (*needed, access.OVERRIDE) if overridden and access.OVERRIDE not in needed else needed
    if event.trigger == OPEN:  # correcting the opening: as for opening, and a change of patient needs its right
        return ("episode.open", access.AMEND_PATIENT) if "patient_ref" in names else ("episode.open",)
    if event.trigger == MIGRATE_RULES:
        return ()  # refused as input once the rights are known
    return access.record_actions(event.trigger, [*event.fields, *names], overridden)


def change_rights(rows: Sequence[EventRow]) -> dict[int, dict[str, list[str]]]:
    """For each event that may be corrected or voided, what each change needs ({seq: {"correct": [...],
    "void": [...]}}): the page offers only those
    the reader's roles grant (the service still decides when the form is sent)."""
    by_seq = {row.seq: row for row in rows}
    rights: dict[int, dict[str, list[str]]] = {}
    for row in rows:
        if row.trigger == MIGRATE_RULES or row.trigger == VOID:
            continue
        changes = (VOID,) if row.trigger == CORRECT else (CORRECT, VOID)  # a correction is undone by voiding it
        needed = record_rights(row, by_seq.__getitem__)
        rights[row.seq] = {CHANGE_ACTIONS[c]: list(access.change_actions(CHANGE_ACTIONS[c], needed)) for c in changes}
    return rights


def _record_rights(session: Session, episode_id: int, event: EventRow, names: Sequence[str] = ()) -> tuple[str, ...]:
    return record_rights(event, lambda seq: _stored_event(session, episode_id, seq), names)


def rights(
    uow: UnitOfWork, *, episode_id: int, seq: int, change: str, assignments: Sequence[str] = (), override: bool = False
) -> tuple[str, ...]:
    """The actions correcting (``correct``) or voiding (``entered_in_error``) event ``seq`` needs.

    Looked up before any input is checked (no such episode or event, exit 3, comes
    first; then rights, exit 5): coordinators correct and void what coordinators may
    record; a clinician's step, or one recorded with an override, needs a clinician.
    """
    session = uow.session
    repo.get_episode(session, episode_id)
    event = _stored_event(session, episode_id, seq)
    names = [item.partition("=")[0].strip() for item in assignments]
    needed = access.change_actions(CHANGE_ACTIONS[change], _record_rights(session, episode_id, event, names))
    return (*needed, access.OVERRIDE) if override and access.OVERRIDE not in needed else needed


def _text(value: str | None, what: str) -> str:
    try:
        return check_text(value or "", what, 1000)
    except FieldError as exc:
        raise InvalidInput(f"{exc} Say why the record is being changed; reviewers read it.") from None


def _record(
    uow: UnitOfWork, episode: EpisodeRow, snapshot: EpisodeSnapshot, change: Change, actor: Actor, now: datetime,
    today: date,
) -> dict[str, Any]:  # fmt: skip
    session = uow.session
    result = change.result
    assert result is not None
    event = repo.append_event(
        session, episode, trigger=change.trigger, from_state=episode.state, to_state=result.state,
        fields=change.fields, occurred_on=today, recorded_at=now, actor=actor.name, role=actor.role, auth=actor.auth,
        verdicts=change.verdicts, override_reason=change.override_reason, overridden=change.overridden,
        judged=snapshot,
    )  # fmt: skip
    repo.project(session, episode, [*snapshot.recorded, repo.recorded(event)], result)
    try:
        session.flush()
        fault_point("correct.before_commit")
        uow.commit()
    except (StaleDataError, IntegrityError):
        raise Conflict(CHANGED_MEANWHILE.format(id=episode.id)) from None
    return {
        "id": episode.id,
        "state": episode.state,
        "version": episode.version,
        "target": change.target,
        "status": str(result.statuses[change.target]),
        "override_unused": change.override_unused,
        "event": event_view(event),
    }


def _prepare(
    uow: UnitOfWork, episode_id: int, expect_version: int | None, reason: str | None, override_reason: str | None,
    now: datetime,
) -> tuple[EpisodeRow, EpisodeSnapshot, str, str | None, date]:  # fmt: skip
    session = uow.session
    episode = repo.get_episode(session, episode_id, lock=True)  # writers queue, as for advance
    check_version(episode, expect_version)
    snapshot = repo.snapshot(session, episode)
    reason = _text(reason, "The reason (--reason)")
    if override_reason is not None:
        try:
            override_reason = check_text(override_reason, "The override reason", 1000)
        except FieldError as exc:
            raise InvalidInput(f"{exc} Say why the guideline does not apply to this patient.") from None
    return episode, snapshot, reason, override_reason, now.astimezone(site_timezone()).date()


def _change(
    uow: UnitOfWork, episode: EpisodeRow, snapshot: EpisodeSnapshot, trigger: str, fields: dict[str, Any],
    seq: int, override_reason: str | None, actor: Actor, now: datetime, today: date,
) -> dict[str, Any]:  # fmt: skip
    change = propose(
        snapshot.recorded, snapshot.rule_sets, trigger=trigger, fields=fields, target=seq,
        seq=(episode.event_count or 0) + 1, state=episode.state, rules_version=episode.rules_version, today=today,
        override_reason=override_reason,
    )  # fmt: skip
    return _record(uow, episode, snapshot, change, actor, now, today)


def correct(
    uow: UnitOfWork,
    *,
    episode_id: int,
    seq: int,
    assignments: Sequence[str] | Mapping[str, str],
    occurred_on: str | date | None,
    reason: str | None,
    override_reason: str | None = None,
    actor: Actor,
    now: datetime,
    expect_version: int | None = None,
) -> dict[str, Any]:
    """Supersede fields and/or the clinical date of event ``seq`` with a ``correct`` event."""
    episode, snapshot, reason, override_reason, today = _prepare(
        uow, episode_id, expect_version, reason, override_reason, now
    )
    before = replay(snapshot.recorded)
    target_event(episode_id, snapshot.recorded, before.statuses, seq, CORRECT)
    current = next(e for e in before.events if e.seq == seq)
    raw = dict(assignments) if isinstance(assignments, Mapping) else parse_assignments(assignments)
    if "patient_ref" in raw and current.trigger in (OPEN, "amend"):
        raw["patient_ref"] = check_patient_ref(raw["patient_ref"])
    fields = correction_fields(current, raw, occurred_on, reason, today)
    return _change(uow, episode, snapshot, CORRECT, fields, seq, override_reason, actor, now, today)


def void(
    uow: UnitOfWork,
    *,
    episode_id: int,
    seq: int,
    reason: str | None,
    override_reason: str | None = None,
    actor: Actor,
    now: datetime,
    expect_version: int | None = None,
) -> dict[str, Any]:
    """Record that event ``seq`` was entered in error: it no longer counts."""
    episode, snapshot, reason, override_reason, today = _prepare(
        uow, episode_id, expect_version, reason, override_reason, now
    )
    target_event(episode_id, snapshot.recorded, replay(snapshot.recorded).statuses, seq, VOID)
    fields = {"seq": seq, "reason": reason}
    return _change(uow, episode, snapshot, VOID, fields, seq, override_reason, actor, now, today)
