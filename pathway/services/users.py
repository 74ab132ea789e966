"""Managing users and their roles (administrators only, once the first admin exists)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pathway.db.models import UserChangeRow, UserRoleRow, UserRow
from pathway.db.uow import UnitOfWork
from pathway.domain.access import ROLES
from pathway.domain.fields import quoted
from pathway.errors import Conflict, InvalidInput, NotFound
from pathway.services import Actor
from pathway.services.access import OPEN, access_mode, authorize, log_change

_NAME = re.compile(r"[\w.@+-]{1,128}")


def check_user_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            "A user name is 1-128 letters, digits or . _ @ + - (no spaces or other characters), e.g. a.smith."
        )
    return name


# Scripts that one person's name may mix (Japanese writes kanji with kana; Korean, hanja with hangul).
_ONE_SCRIPT = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK"}


def _look(name: str) -> str:
    """What a name looks like: compatibility forms folded and case ignored (``Ｋim`` and ``kim`` alike)."""
    return unicodedata.normalize("NFKC", name).casefold()


def _scripts(name: str) -> set[str]:
    letters = (unicodedata.name(ch, "?").split(" ")[0] for ch in unicodedata.normalize("NFKC", name) if ch.isalpha())
    return {_ONE_SCRIPT.get(script, script) for script in letters}


def check_new_user_name(session: Session, name: str) -> None:
    """Refuse a new user whose name could pass for another's in the audit trail.

    Events and access-log rows name their actor: a second user ``Kim`` beside ``kim``, or
    ``kіm`` spelled with a Cyrillic і, would read as the same person.
    """
    scripts = _scripts(name)
    if len(scripts) > 1:
        raise InvalidInput(f"The user name {quoted(name)} mixes {' and '.join(sorted(s.title() for s in scripts))} "
                           "letters, so it could pass for another name; write it in one alphabet.")  # fmt: skip
    look = _look(name)
    twin = next((other for other in session.scalars(sa.select(UserRow.name)) if _look(other) == look), None)
    if twin is not None:
        raise InvalidInput(f"The user name {quoted(name)} looks the same as the existing user {quoted(twin)}; "
                           f"give {twin} the role instead, or pick a name that cannot be mistaken for it.")  # fmt: skip


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"There is no role {quoted(role)}; the roles are: {', '.join(ROLES)}.")
    return role


def user_view(user: UserRow) -> dict[str, Any]:
    return {
        "name": user.name,
        "roles": [r.role for r in user.roles],
        "active": user.disabled_at is None,
        "created_at": user.created_at.isoformat(),
        "created_by": user.created_by,
        "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
    }


ACTIONS_OF_CHANGES = {"added": "user.add", "granted": "user.add", "enabled": "user.enable",
                      "disabled": "user.disable", "revoked": "user.revoke"}


def _changed(session: Session, actor: Actor, name: str, change: str, role: str | None, now: datetime) -> None:
    """A change to users or roles: a row of the users' history, and a row of the access log, in its transaction."""
    session.add(UserChangeRow(at=now, actor=actor.name, user_name=name, change=change, role=role))
    log_change(session, actor, ACTIONS_OF_CHANGES[change], now, {"user": name, "change": change, "role": role})


def _grant(uow: UnitOfWork, name: str, role: str, actor: Actor, now: datetime) -> dict[str, Any]:
    session = uow.session
    user = session.get(UserRow, name)
    if user is not None and user.disabled_at is not None:
        raise InvalidInput(f"User {name} is disabled; enable them first with `pathway user enable {name}`.")
    if user is None:
        check_new_user_name(session, name)
    changed = user is None or role not in [r.role for r in user.roles]
    if changed:
        change = "added" if user is None else "granted"
        _changed(session, actor, name, change, role, now)
    if user is None:
        user = UserRow(name=name, created_at=now, created_by=actor.name)
        session.add(user)
    if changed:
        user.roles.append(UserRoleRow(user_name=name, role=role, granted_at=now, granted_by=actor.name))
        try:
            uow.commit()
        except IntegrityError:
            raise Conflict(
                f"User {name} was changed by someone else meanwhile; nothing was saved. Try again."
            ) from None
    return {**user_view(user), "changed": changed}


def add_user(
    uow: UnitOfWork, *, name: str, role: str, actor: Actor, now: datetime, existing: bool | None = None
) -> dict[str, Any]:
    """Create ``name`` with ``role``, or give an existing user one more role.

    ``existing`` narrows it for the web page's two forms: True only gives a role to a user
    who exists (a typo must not create someone), False only creates a new user.
    """
    actor = authorize(uow, actor, "user.add", now=now)
    if access_mode(uow.session) == OPEN:
        raise InvalidInput(
            "No users exist yet, so pathway runs in open single-user mode. "
            "Create the first administrator with `pathway db upgrade --admin NAME`, then add users as that admin."
        )
    name, role = check_user_name(name), check_role(role)
    found = uow.session.get(UserRow, name) is not None
    if existing is True and not found:
        raise NotFound(f"There is no user {name}; `pathway user list` shows the users.")
    if existing is False and found:
        raise Conflict(f"There is already a user {name}; give them another role in their row of the list.")
    return _grant(uow, name, role, actor, now)


def ensure_admin(uow: UnitOfWork, *, name: str, actor: Actor, now: datetime) -> dict[str, Any]:
    """The first administrator (ending open mode), or, by an admin, one more."""
    name = check_user_name(name)
    if access_mode(uow.session) != OPEN:
        actor = authorize(uow, actor, "user.add", now=now)
    return _grant(uow, name, "admin", actor, now)


def list_users(uow: UnitOfWork, *, actor: Actor, now: datetime) -> list[dict[str, Any]]:
    authorize(uow, actor, "user.list", now=now)
    return [user_view(u) for u in uow.session.scalars(sa.select(UserRow).order_by(UserRow.name))]


def _active_admins(uow: UnitOfWork) -> set[str]:
    query = sa.select(UserRow.name).join(UserRoleRow).where(UserRoleRow.role == "admin", UserRow.disabled_at.is_(None))
    return set(uow.session.scalars(query))


def set_enabled(uow: UnitOfWork, *, name: str, enabled: bool, actor: Actor, now: datetime) -> dict[str, Any]:
    """Disable (or re-enable) a user; the last active administrator cannot be disabled."""
    actor = authorize(uow, actor, "user.enable" if enabled else "user.disable", now=now)
    user = uow.session.get(UserRow, check_user_name(name))
    if user is None:
        raise NotFound(f"There is no user {name}; `pathway user list` shows the users.")
    if enabled == (user.disabled_at is None):
        return {**user_view(user), "changed": False}
    if not enabled and _active_admins(uow) == {name}:
        raise InvalidInput(f"{name} is the last active administrator; make someone else an admin first.")
    user.disabled_at, user.disabled_by = (None, None) if enabled else (now, actor.name)
    change = "enabled" if enabled else "disabled"
    _changed(uow.session, actor, name, change, None, now)
    uow.commit()
    return {**user_view(user), "changed": True}


def revoke_role(uow: UnitOfWork, *, name: str, role: str, actor: Actor, now: datetime) -> dict[str, Any]:
    """Take ``role`` from ``name``, recorded in the users' history (the grant's row goes, its record stays)."""
    actor = authorize(uow, actor, "user.revoke", now=now)
    name, role = check_user_name(name), check_role(role)
    user = uow.session.get(UserRow, name)
    if user is None:
        raise NotFound(f"There is no user {name}; `pathway user list` shows the users.")
    grant = next((r for r in user.roles if r.role == role), None)
    if grant is None:
        return {**user_view(user), "changed": False}
    if role == "admin" and _active_admins(uow) == {name}:
        raise InvalidInput(f"{name} is the last active administrator; make someone else an admin first.")
    uow.session.delete(grant)
    uow.session.flush()
    uow.session.expire(user, ["roles"])
    _changed(uow.session, actor, name, "revoked", role, now)
    uow.commit()
    return {**user_view(user), "changed": True}
