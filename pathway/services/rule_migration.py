"""Moving running episodes to another rule set, audited on each episode's chain.

The whole migration is one transaction: every selected episode moves, or none does.
Each move is a ``migrate_rules`` event written by ``append_event`` after the episode's
``rules_version`` is set, so the event records the version it moved to and its fields
say ``{"from_version": M, "to_version": N}``. The selected episodes are locked (FOR
UPDATE on PostgreSQL; SQLite's write transaction locks the whole file), so a
coordinator advancing one of them meanwhile waits and then gets exit 4, and a lost
race on our side rolls everything back with exit 4; a re-run then picks up where the
rules still need moving. A dry run computes the same report and writes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from pathway.clock import site_timezone
from pathway.db import repository as repo
from pathway.db.models import EpisodeRow
from pathway.db.uow import UnitOfWork
from pathway.domain.history import MIGRATE_RULES
from pathway.domain.rule_impact import impact
from pathway.domain.rules import RuleSet
from pathway.domain.states import TERMINAL
from pathway.errors import Conflict, InvalidInput
from pathway.services import Actor
from pathway.services.rule_sets import changes_between


def _select(uow: UnitOfWork, to_version: int, episode_id: int | None, all_on: int | None, lock: bool) -> list:
    session = uow.session
    if episode_id is not None:
        episode = repo.get_episode(session, episode_id)
        if lock:
            session.refresh(episode, with_for_update=True)  # judged as it is once nobody else can change it
        if episode.state in TERMINAL:
            raise InvalidInput(f"Episode {episode_id} is {episode.state}, which is final; its rules no longer apply.")
        if episode.rules_version == to_version:
            raise InvalidInput(f"Episode {episode_id} is already on rule set v{to_version}; nothing to do.")
        return [episode]
    repo.rule_set_row(session, all_on)
    if all_on == to_version:
        raise InvalidInput(f"--all-on and --to are both v{to_version}; nothing to do.")
    query = (
        sa.select(EpisodeRow)
        .where(EpisodeRow.rules_version == all_on, EpisodeRow.state.not_in(TERMINAL))
        .order_by(EpisodeRow.id)
    )
    return list(session.scalars(query.with_for_update() if lock else query))


BATCH = 500  # episodes judged and written per flush: one history read, one flag reconciliation


def _move(
    uow: UnitOfWork, episodes: list[EpisodeRow], old_rules: dict[int, RuleSet], new_rules: RuleSet,
    to_version: int, today: date, dry_run: bool, actor: Actor, now: datetime,
) -> list[dict[str, Any]]:
    """Judge (and, unless a dry run, move) one batch: each episode keeps its own audit event."""
    session = uow.session
    histories = repo.histories(session, [e.id for e in episodes])
    earlier = {e.rules_version for h in histories.values() for e in h if e.rules_version} - old_rules.keys()
    if earlier:  # rule sets the histories were recorded under, read once for the whole run
        old_rules.update(repo.rule_sets(session, earlier))
    report = []
    for episode in episodes:
        from_version = episode.rules_version
        entry: dict[str, Any] = {"id": episode.id, "state": episode.state, "from_version": from_version}
        snapshot = repo.snapshot(session, episode, rules=old_rules, events=histories[episode.id])
        entry["changes"] = impact(snapshot, new_rules, today)
        if not dry_run:
            episode.rules_version = to_version
            event = repo.append_event(
                session, episode, trigger=MIGRATE_RULES, from_state=episode.state, to_state=episode.state,
                fields={"from_version": from_version, "to_version": to_version}, occurred_on=today,
                recorded_at=now, actor=actor.name, role=actor.role, auth=actor.auth, judged=replace(snapshot, rules=new_rules),
            )  # fmt: skip
            entry["event_seq"] = event.seq
            entry["version"] = episode.version
        report.append(entry)
    if not dry_run:
        session.flush()  # one flush per batch: the events, the episodes' version checks, their flags
    return report


def migrate_rules(
    uow: UnitOfWork,
    *,
    to_version: int,
    episode_id: int | None = None,
    all_on: int | None = None,
    dry_run: bool = False,
    actor: Actor,
    now: datetime,
) -> dict[str, Any]:
    """Re-pin one episode, or every running episode on version ``all_on``, to ``to_version``."""
    if (episode_id is None) == (all_on is None):
        raise InvalidInput("Say which episodes to move: --episode ID, or --all-on M for every running one on vM.")
    session = uow.session
    target = repo.rule_set_row(session, to_version)
    if target.status == "draft" and not dry_run:
        raise InvalidInput(
            f"Rule set v{to_version} is a draft; activate it first (`pathway rules activate {to_version}`). "
            "A --dry-run may preview a draft."
        )
    episodes = _select(uow, to_version, episode_id, all_on, lock=not dry_run)
    today = now.astimezone(site_timezone()).date()
    new_rules = repo.rule_set(session, to_version)
    from_versions = sorted({e.rules_version for e in episodes})
    old_rules = repo.rule_sets(session, set(from_versions))
    report = []
    try:
        for batch in range(0, len(episodes), BATCH):
            report += _move(uow, episodes[batch : batch + BATCH], old_rules, new_rules, to_version, today,
                            dry_run, actor, now)  # fmt: skip
        if not dry_run:
            uow.commit()
    except (StaleDataError, IntegrityError):
        raise Conflict(
            "An episode was changed by someone else while the rules were being moved; nothing was moved. "
            "Run the command again."
        ) from None
    return {
        "to_version": to_version,
        "dry_run": dry_run,
        "as_of": today.isoformat(),
        "rule_changes": {str(v): list(changes_between(session, v, to_version)) for v in from_versions},
        "episodes": report,
    }
