"""API tokens for scripts, cron and the CLI: shown once, stored only as a SHA-256 hash.

A token is 32 random bytes (URL-safe text); a hash suffices because, unlike a password,
it cannot be guessed, so a slow hash would only slow every API call.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from pathway.db.models import USER_ROLES, USERS, TokenRow, UserRow
from pathway.db.uow import UnitOfWork
from pathway.errors import AccessDenied, InvalidInput, NotFound
from pathway.services import Actor
from pathway.services.access import authorize
from pathway.services.access_records import record

PREFIX = "pw_"
MAX_DAYS = 3660


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _may_manage(uow: UnitOfWork, actor: Actor, name: str, now: datetime) -> UserRow:
    """The user ``name``, if ``actor`` is that user or an admin."""
    if actor.name != name:
        authorize(uow, actor, "user.token", now=now)
    user = uow.session.get(UserRow, name)
    if user is None:
        raise NotFound(f"There is no user {name}; `pathway user list` shows the users.")
    return user


def token_view(row: TokenRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "user": row.user_name,
        "note": row.note,
        "created_at": row.created_at.isoformat(),
        "created_by": row.created_by,
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
    }


def create_token(
    uow: UnitOfWork, *, name: str, expires_days: int | None, note: str, actor: Actor, now: datetime
) -> dict[str, Any]:
    """A new token for ``name``; the returned ``token`` is the only copy of the secret."""
    user = _may_manage(uow, actor, name, now)
    if user.disabled_at is not None:
        raise AccessDenied(f"User {name} is disabled; enable them first with `pathway user enable {name}`.")
    if expires_days is not None and not 1 <= expires_days <= MAX_DAYS:
        raise InvalidInput(f"--expires is a number of days from 1 to {MAX_DAYS}.")
    if len(note) > 200 or not note.isprintable():
        raise InvalidInput("--note is at most 200 printable characters.")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = TokenRow(
        user_name=name, hash=digest(secret), note=note, created_at=now, created_by=actor.name,
        expires_at=now + timedelta(days=expires_days) if expires_days is not None else None,
    )  # fmt: skip
    uow.session.add(row)
    uow.session.flush()
    record(uow.session, at=now, actor=actor.name, action="user.token.create", outcome="granted", auth=actor.auth,
           detail={"user": name, "token_id": row.id})  # fmt: skip
    uow.commit()
    return {"token": secret, **token_view(row)}


def list_tokens(uow: UnitOfWork, *, name: str, actor: Actor, now: datetime) -> list[dict[str, Any]]:
    _may_manage(uow, actor, name, now)
    rows = uow.session.scalars(sa.select(TokenRow).where(TokenRow.user_name == name).order_by(TokenRow.id))
    return [token_view(r) for r in rows]


def revoke_token(uow: UnitOfWork, *, name: str, token_id: int, actor: Actor, now: datetime) -> dict[str, Any]:
    _may_manage(uow, actor, name, now)
    row = uow.session.get(TokenRow, token_id)
    if row is None or row.user_name != name:
        raise NotFound(f"User {name} has no token {token_id}; `pathway user token list {name}` shows them.")
    changed = row.revoked_at is None
    if changed:
        row.revoked_at, row.revoked_by = now, actor.name
        record(uow.session, at=now, actor=actor.name, action="user.token.revoke", outcome="granted",
               auth=actor.auth, detail={"user": name, "token_id": token_id})  # fmt: skip
        uow.commit()
    return {**token_view(row), "changed": changed}


TOUCH_EVERY = timedelta(seconds=60)  # last_used_at is written at most this often: reads stay reads


@dataclass(frozen=True)
class LiveToken:
    id: int
    user_name: str
    last_used_at: datetime | None
    roles: tuple[str, ...] = ()


_T: sa.Table = TokenRow.__table__  # type: ignore[assignment]
# One round trip, as every API call made with a token pays it: the token, its user, the roles held.
_LIVE = (
    sa.select(_T.c.id, _T.c.user_name, _T.c.last_used_at, _T.c.expires_at, USER_ROLES.c.role)
    .select_from(
        _T.join(USERS, USERS.c.name == _T.c.user_name).outerjoin(USER_ROLES, USER_ROLES.c.user_name == USERS.c.name)
    )
    .where(_T.c.hash == sa.bindparam("hash"), _T.c.revoked_at.is_(None), USERS.c.disabled_at.is_(None))
    .order_by(USER_ROLES.c.role)
)


def user_of_token(uow: UnitOfWork, secret: str, now: datetime) -> LiveToken | None:
    """The live token, its active user and their roles, or None (unknown, expired, revoked, user disabled)."""
    rows = uow.session.connection().execute(_LIVE, {"hash": digest(secret)}).all()
    if not rows:
        return None
    row = rows[0]
    if row.expires_at is not None and row.expires_at <= now:
        return None
    return LiveToken(row.id, row.user_name, row.last_used_at, tuple(r.role for r in rows if r.role is not None))


def touch(uow: UnitOfWork, token: LiveToken, now: datetime) -> None:
    """Note when the token was last used (in a write unit of work), at most every TOUCH_EVERY."""
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        uow.session.execute(sa.update(TokenRow).where(TokenRow.id == token.id).values(last_used_at=now))
        uow.commit()


def revoke_presented(uow: UnitOfWork, *, secret: str, actor: Actor, now: datetime) -> None:
    """Revoke the token whose secret is ``secret`` (the caller's own: `pathway logout`)."""
    row = uow.session.scalar(sa.select(TokenRow).where(TokenRow.hash == digest(secret)))
    if row is None or row.user_name != actor.name:
        raise NotFound("That token is not one of yours.")
    revoke_token(uow, name=actor.name, token_id=row.id, actor=actor, now=now)
