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
from pathway.domain.decisions import decide, options, parse_assignments
from pathway.errors import Conflict
from pathway.faults import fault_point
from pathway.services import Actor
from pathway.services.views import event_view

CHANGED_MEANWHILE = (
    "Episode {id} was changed by someone else while this command ran; nothing was saved. "
    "Check `pathway episode show {id}` and run the command again if it still applies."
)


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
    """
    session = uow.session
    episode = repo.get_episode(session, episode_id)
    if expect_version is not None and episode.version != expect_version:
        raise Conflict(
            f"Episode {episode_id} is at version {episode.version}, not {expect_version}: someone changed it "
            f"since you looked. Review it with `pathway episode show {episode_id}` and try again."
        )
    today = now.astimezone(site_timezone()).date()
    fields = dict(assignments) if isinstance(assignments, Mapping) else parse_assignments(assignments)
    decision = decide(repo.snapshot(session, episode), trigger, fields, occurred_on, today, override_reason)
    for name, value in decision.attribute_changes.items():
        setattr(episode, name, value)
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
        role=actor.role,
        verdicts=decision.verdicts,
        override_reason=decision.override_reason,
        overridden=decision.overridden,
    )
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
                "guards": [v.as_dict() for v in option.verdicts],
            }
            for option in options(repo.snapshot(session, episode), today)
        ],
    }
