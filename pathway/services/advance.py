"""Advancing an episode by one trigger, and asking what is possible next."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from pathway.clock import site_timezone
from pathway.db import repository as repo
from pathway.db.uow import UnitOfWork
from pathway.domain.corrections import judge_change
from pathway.domain.decisions import decide, options, parse_assignments
from pathway.domain.effective import replay
from pathway.domain.history import RecordedEvent
from pathway.domain.triggers import TRIGGERS
from pathway.errors import Conflict
from pathway.faults import fault_point
from pathway.services import CHANGED_MEANWHILE, Actor, check_version
from pathway.services.episodes import check_patient_ref
from pathway.services.views import event_view


def advance(
    uow: UnitOfWork,
    *,
    episode_id: int,
    trigger: str,
    assignments: Sequence[str] | Mapping[str, str],
    occurred_on: date | str | None,
    override_reason: str | None,
    actor: Actor,
    now: datetime,
    expect_version: int | None = None,
) -> dict[str, Any]:
    """Fire ``trigger``; the state change and its event are one transaction.

    ``assignments`` are ``FIELD=VALUE`` strings (or a mapping of them) and
    ``occurred_on`` may be text: both are checked only after the episode is found,
    so "no such episode" (exit 3) wins over bad input (exit 2).

    The episode row is locked before anything is judged, so concurrent writers queue
    and each is judged on the state it actually follows; exit 4 is left for
    ``expect_version`` (someone changed it since the caller looked).
    """
    session = uow.session
    episode = repo.get_episode(session, episode_id, lock=True)
    check_version(episode, expect_version)
    today = now.astimezone(site_timezone()).date()
    fields = dict(assignments) if isinstance(assignments, Mapping) else parse_assignments(assignments)
    if trigger == "amend" and "patient_ref" in fields:
        fields["patient_ref"] = check_patient_ref(fields["patient_ref"])
    snapshot = repo.snapshot(session, episode)
    decision = decide(snapshot, trigger, fields, occurred_on, today, override_reason)
    if decision.attribute_changes:  # an amendment: the history it leaves must still hold
        amended = RecordedEvent(episode.event_count + 1, trigger, decision.from_state, decision.to_state,
                                decision.occurred_on, decision.fields, episode.rules_version)  # fmt: skip
        judge_change(snapshot.recorded, snapshot.rule_sets, amended, today, target=None, override_reason=None,
                     what="The amendment")  # fmt: skip
    event = repo.append_event(
        session,
        episode,
        trigger=decision.trigger,
        from_state=decision.from_state,
        to_state=decision.to_state,
        fields=decision.fields,
        occurred_on=decision.occurred_on,
        recorded_at=now,
        actor=actor.name,
        role=actor.role, auth=actor.auth,
        verdicts=decision.verdicts,
        override_reason=decision.override_reason,
        overridden=decision.overridden,
        judged=snapshot,
    )
    if decision.attribute_changes:
        records = [*snapshot.recorded, repo.recorded(event)]
        repo.project(session, episode, records, replay(records))
    try:
        uow.session.flush()
        fault_point("advance.before_commit")
        uow.commit()
    except (StaleDataError, IntegrityError):
        raise Conflict(CHANGED_MEANWHILE.format(id=episode_id)) from None
    return {
        "id": episode.id,
        "state": episode.state,
        "version": episode.version,
        "override_unused": decision.override_unused,
        "event": event_view(event),
    }


def next_steps(uow: UnitOfWork, *, episode_id: int, now: datetime) -> dict[str, Any]:
    session = uow.session
    episode = repo.get_episode(session, episode_id)
    today = now.astimezone(site_timezone()).date()
    return {
        "id": episode.id,
        "state": episode.state,
        "as_of": today.isoformat(),
        "triggers": [
            {
                "trigger": option.trigger,
                "allowed": option.allowed,
                "reasons": option.reasons,
                "summary": option.summary,
                "fields": [f.as_dict() for f in TRIGGERS[option.trigger].fields],
                "guards": [v.as_dict() for v in option.verdicts],
            }
            for option in options(repo.snapshot(session, episode), today)
        ],
    }
