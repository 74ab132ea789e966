"""The life of a rule set: drafted from a file, compared, activated, exported.

draft → active → retired. Exactly one rule set is active (a partial unique index
enforces it); new episodes are pinned to it. Activating a draft retires the active one
in the same transaction. A retired set is never reactivated: to go back, export it and
create a new draft from the file, so that every activation is a new, traceable step.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pathway.db import repository as repo
from pathway.db.models import RuleRow, RuleSetRow
from pathway.db.uow import UnitOfWork
from pathway.domain.fields import FieldError, check_text
from pathway.domain.rule_checks import RuleEntry
from pathway.domain.rule_diff import diff
from pathway.domain.rule_file import format_rule_file, parse_rule_file
from pathway.domain.rules import CATALOGUE
from pathway.errors import Conflict, InvalidInput
from pathway.services import Actor
from pathway.services.views import rule_set_view

NOTE_MAX = 1000


def entries_of(session: Session, version: int) -> list[RuleEntry]:
    rows = session.scalars(sa.select(RuleRow).where(RuleRow.rule_set_version == version).order_by(RuleRow.position))
    return [RuleEntry(r.key, r.value, r.unit, r.basis) for r in rows]


def _diff_view(session: Session, old: int, new: int) -> dict[str, Any]:
    changes = diff(entries_of(session, old), entries_of(session, new))
    return {"from_version": old, "to_version": new, "changes": [c.as_dict() for c in changes]}


def create_rule_set(
    uow: UnitOfWork, *, text: str, source: str, note: str | None, actor: Actor, now: datetime
) -> dict[str, Any]:
    """Store the rules of a TOML file as a new draft version; every problem is listed."""
    if note is not None:
        try:
            note = check_text(note, "The note", NOTE_MAX)
        except FieldError as exc:
            raise InvalidInput(f"{exc} Say why this rule set is proposed.") from None
    entries = parse_rule_file(text, source)
    session = uow.session
    version = (session.scalar(sa.select(sa.func.max(RuleSetRow.version))) or 0) + 1
    positions = {key: i for i, key in enumerate(CATALOGUE, start=1)}
    try:
        session.add(RuleSetRow(version=version, status="draft", created_at=now, created_by=actor.name, note=note or ""))
        session.flush()
        session.add_all(
            RuleRow(rule_set_version=version, key=e.key, position=positions[e.key], value=e.value,
                    value_type=e.spec.type, unit=e.unit, basis=e.basis)
            for e in entries
        )  # fmt: skip
        uow.commit()
    except IntegrityError:
        raise Conflict(f"Someone created rule set version {version} at the same time; run the command again.") from None
    result = rule_set_view(repo.rule_set_row(session, version))
    active = session.scalar(sa.select(RuleSetRow.version).where(RuleSetRow.status == "active"))
    result["diff_from_active"] = _diff_view(session, active, version) if active is not None else None
    return result


def list_rule_sets(uow: UnitOfWork) -> list[dict[str, Any]]:
    rows = uow.session.scalars(sa.select(RuleSetRow).order_by(RuleSetRow.version))
    return [{k: v for k, v in rule_set_view(row).items() if k != "rules"} for row in rows]


def diff_rule_sets(uow: UnitOfWork, old: int, new: int) -> dict[str, Any]:
    for version in (old, new):
        repo.rule_set_row(uow.session, version)
    return _diff_view(uow.session, old, new)


def activate_rule_set(uow: UnitOfWork, *, version: int, actor: Actor, now: datetime) -> dict[str, Any]:
    """Make a draft the active rule set and retire the previous one, in one transaction."""
    session = uow.session
    row = repo.rule_set_row(session, version)
    if row.status == "active":
        raise InvalidInput(f"Rule set v{version} is already active; nothing to do.")
    if row.status == "retired":
        raise InvalidInput(
            f"Rule set v{version} is retired and stays so. To use its rules again: `pathway rules export {version} "
            f"--out FILE`, then `pathway rules new --from FILE` and activate the new draft."
        )
    previous = session.scalar(sa.select(RuleSetRow.version).where(RuleSetRow.status == "active"))
    # Compare-and-set, so that two activations at once cannot both succeed: the loser either
    # finds its draft changed or trips the one-active index.
    try:
        session.execute(
            sa.update(RuleSetRow).where(RuleSetRow.status == "active").values(status="retired", retired_at=now)
        )
        changed = session.execute(
            sa.update(RuleSetRow)
            .where(RuleSetRow.version == version, RuleSetRow.status == "draft")
            .values(status="active", activated_at=now, activated_by=actor.name)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(f"Rule set v{version} was changed by someone else meanwhile; check `pathway rules list`.")
        uow.commit()
    except IntegrityError:
        raise Conflict("Another rule set was activated at the same time; check `pathway rules list`.") from None
    session.expire_all()
    result = rule_set_view(repo.rule_set_row(session, version))
    result["retired_version"] = previous
    return result


def export_rule_set(uow: UnitOfWork, version: int) -> str:
    repo.rule_set_row(uow.session, version)
    return format_rule_file(entries_of(uow.session, version))


def changes_between(session: Session, old: int, new: int) -> Sequence[dict[str, Any]]:
    return _diff_view(session, old, new)["changes"]
