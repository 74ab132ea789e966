"""Applying the permission matrix: who is acting, in which role, and the access log.

Every command calls `authorize` once, inside its unit of work, before it validates any
input (so "no such episode" wins over "not allowed", which wins over "bad input"). A
database that has never had users runs in open single-user mode: everyone may do
everything and events carry no role. Once a user exists the mode is closed for good:
the first row of ``user_changes`` records it, so deleting the users does not reopen
it (every command is then refused).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pathway.db import access_log
from pathway.db import repository as repo
from pathway.db.models import USER_ROLES, USERS, UserChangeRow, UserRow
from pathway.db.uow import UnitOfWork
from pathway.domain.access import (
    ADVANCE_ANY,
    MATRIX,
    OVERRIDE,
    PSEUDONYMOUS_ROLES,
    acting_role,
    describe,
    granting_roles,
    record_actions,
)
from pathway.domain.triggers import TRIGGERS
from pathway.errors import AccessDenied
from pathway.services import Actor

OPEN = "open"
CLOSED = "closed"


def access_mode(session: Session) -> str:
    """``open`` until the first user is created, ``closed`` from then on, whatever happens to the users."""
    if session.scalar(sa.select(UserRow.name).limit(1)) is not None:
        return CLOSED
    return OPEN if session.scalar(sa.select(UserChangeRow.id).limit(1)) is None else CLOSED


def _users_removed(session: Session) -> bool:
    """The database has had users (its history says so) but none is left: removed outside pathway."""
    return session.scalar(sa.select(UserRow.name).limit(1)) is None


def held_roles(session: Session, name: str) -> list[str] | None:
    """The roles ``name`` holds, or None in open mode (where events carry no role)."""
    if access_mode(session) == OPEN:
        return None
    found = _user(session, name)
    return found[1] if found is not None else []


_USER = (
    sa.select(USERS.c.disabled_at, USER_ROLES.c.role)
    .select_from(USERS.outerjoin(USER_ROLES, USER_ROLES.c.user_name == USERS.c.name))
    .where(USERS.c.name == sa.bindparam("name"))
    .order_by(USER_ROLES.c.role)
)


def _user(session: Session, name: str) -> tuple[datetime | None, list[str]] | None:
    """(disabled at, roles held) of the user ``name``, or None: one round trip, as every command pays it."""
    rows = session.connection().execute(_USER, {"name": name}).all()
    if not rows:
        return None
    return rows[0][0], [role for _, role in rows if role is not None]



def advance_actions(trigger: str, override: bool, assignments: Sequence[str] = ()) -> tuple[str, ...]:
    """What firing ``trigger`` with ``FIELD=VALUE`` assignments needs; an unknown trigger needs some clinical right."""
    if trigger not in TRIGGERS:
        return (ADVANCE_ANY, OVERRIDE) if override else (ADVANCE_ANY,)
    names = [item.partition("=")[0].strip() for item in assignments]
    return record_actions(trigger, names, override)


# Reads of patients' records: each is written to the access log (who read which episode, when).
IDENTIFIED_READS = frozenset({"episode.show", "episode.list", "episode.history", "worklist", "next"})


def authorize(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    *,
    now: datetime,
    episode_id: int | None = None,
    also: Sequence[str] = (),
    log_grant: bool = False,
    looks_up: bool = False,
) -> Actor:
    """The actor with the role they act in, or AccessDenied (exit 5).

    ``also`` lists further rights the command needs (``override``). A refusal is written
    to the access log in its own transaction after the command's has been rolled back;
    ``log_grant`` records a granted action in the command's own transaction (for
    exports of identified data). ``looks_up``: the caller finds patients by reference,
    which the roles that see pseudonyms only may not do.
    """
    session = uow.session
    if episode_id is not None:  # a write unit locks it now: every writer on it queues here, before it is judged
        repo.get_episode(session, episode_id, lock=uow.write)
    # A proven actor (a password, SSO or token) means users exist, so the mode is closed.
    if actor.auth == "claimed" and access_mode(session) == OPEN:
        return Actor(actor.name, None, actor.auth)
    needed = (action, *also)
    user = (None, list(actor.held)) if actor.held is not None else _user(session, actor.name)
    held = user[1] if user is not None else []
    if user is None and _users_removed(session):
        reason = "no users"
        message = (
            "This database has had users, but none is left: they were removed outside pathway, and pathway "
            "never falls back to open mode. Restore the database from a backup and run `pathway audit verify`."
        )
    elif user is None:
        reason, message = "unknown user", f"{actor.name} is not a pathway user; ask an administrator to add you."
    elif user[0] is not None:
        reason, message = "disabled", f"User {actor.name} is disabled; ask an administrator if this is a mistake."
    else:
        role = acting_role(held, needed)
        if role is not None and looks_up and role in PSEUDONYMOUS_ROLES:
            reason, role = "pseudonyms only", None
            message = (f"{actor.name} ({', '.join(held)}) sees pseudonyms only, so may not look patients up by "
                       "reference; a coordinator or clinician can.")  # fmt: skip
        elif role is not None:
            if log_grant:
                _log(session, now, actor.name, role, action, "granted", episode_id, {"roles": held}, actor.auth)
            elif action in IDENTIFIED_READS:  # who read whose record; written once the read is over
                detail = {"roles": held, "read": True}
                uow.after_end(lambda s: _log(s, now, actor.name, role, action, "granted", episode_id, detail,
                                             actor.auth))  # fmt: skip
            return Actor(actor.name, role, actor.auth)
        else:
            missing = next(a for a in needed if not any(a in MATRIX[r] for r in held))
            reason = "role"
            message = (
                f"{actor.name} ({', '.join(held)}) may not {describe(missing)}; "
                f"that needs the {' or '.join(granting_roles(missing))} role."
            )
    detail = {"reason": reason, "roles": held, "needs": list(needed)}
    uow.after_rollback(lambda s: _log(s, now, actor.name, None, action, "refused", episode_id, detail, actor.auth))
    raise AccessDenied(message + " Nothing was changed.")


def log_change(session: Session, actor: Actor, action: str, now: datetime, detail: dict[str, Any]) -> None:
    """A granted change that is not to an episode (users and roles), logged in the change's own transaction."""
    _log(session, now, actor.name, actor.role, action, "granted", None, detail, actor.auth)


def _log(
    session: Session,
    now: datetime,
    actor: str,
    role: str | None,
    action: str,
    outcome: str,
    episode_id: int | None,
    detail: Any,
    auth: str = "claimed",
) -> None:
    # Never a patient reference here: actions, roles and episode ids only.
    access_log.append(session.connection(), at=now, actor=actor, role=role, action=action, outcome=outcome,
                      episode_id=episode_id, detail=detail, auth=auth)  # fmt: skip
