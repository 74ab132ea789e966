"""Signing in with a password: lockouts, server-side sessions, signing out.

Everything lives in the database (failures, lockouts, sessions), so several workers or
hosts on one database agree. The browser holds only a random session id; the table
holds its SHA-256, so a copy of the table signs nobody in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from pathway.db.models import LockoutRow, PasswordRow, SessionRow, SignInFailureRow, UserRow
from pathway.db.uow import UnitOfWork
from pathway.errors import PathwayError
from pathway.services import passwords
from pathway.services.access_records import record
from pathway.services.tokens import digest

TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often: reads stay reads


class NotSignedIn(PathwayError):
    """No valid credentials: HTTP 401."""

    exit_code = 5


@dataclass(frozen=True)
class Policy:
    """Session lifetimes and the lockout rule (PATHWAY_SESSION_* and PATHWAY_LOCKOUT_* settings)."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    failures: int = 7
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class Signed:
    """A session: its secret id (for the cookie), its CSRF token, and who it is."""

    session_id: str
    csrf: str
    name: str
    auth: str


WRONG = "The user name or password is wrong (or the user has no password); nothing was changed."


def _refuse(uow: UnitOfWork, name: str, now: datetime, reason: str, policy: Policy) -> NotSignedIn:
    """Count a failure (locking the user out at the limit), to be committed after the rollback."""

    def write(session: Any) -> None:
        if reason == "locked":
            record(session, at=now, actor=name, action="session.create", outcome="refused", auth="password",
                   detail={"reason": "locked"})  # fmt: skip
            return
        session.add(SignInFailureRow(user_name=name, at=now))
        session.flush()
        since = now - policy.window
        count = session.scalar(sa.select(sa.func.count()).select_from(SignInFailureRow).where(
            SignInFailureRow.user_name == name, SignInFailureRow.at > since))  # fmt: skip
        record(session, at=now, actor=name, action="session.create", outcome="refused", auth="password",
               detail={"reason": reason, "failures": count})  # fmt: skip
        if count >= policy.failures:
            lock = session.get(LockoutRow, name)
            if lock is None:
                session.add(LockoutRow(user_name=name, locked_at=now, until=now + policy.lock))
            else:
                lock.locked_at, lock.until = now, now + policy.lock
            session.execute(sa.delete(SignInFailureRow).where(SignInFailureRow.user_name == name))
            record(session, at=now, actor=name, action="session.lockout", outcome="refused", auth="password",
                   detail={"failures": count, "until": (now + policy.lock).isoformat()})  # fmt: skip

    uow.after_rollback(write)
    if reason == "locked":
        return NotSignedIn(
            f"Too many failed sign-ins: {name} is locked out for a few minutes. Try again later, "
            "or ask an administrator."
        )
    return NotSignedIn(WRONG)


def sign_in(uow: UnitOfWork, *, name: str, password: str, now: datetime, policy: Policy) -> Signed:
    """A new session for ``name`` if the password is right and the user active and not locked out."""
    name = name.strip()[:128]
    session = uow.session
    lock = session.get(LockoutRow, name)
    if lock is not None and lock.until > now:
        raise _refuse(uow, name, now, "locked", policy)
    user = session.get(UserRow, name) if name else None
    stored = session.get(PasswordRow, name) if user is not None else None
    matches = passwords.verify(stored.hash if stored else None, password)
    if user is None or stored is None or not matches:
        raise _refuse(uow, name, now, "wrong password" if user is not None else "unknown user", policy)
    if user.disabled_at is not None:
        raise _refuse(uow, name, now, "disabled", policy)
    if stored is not None and passwords.hasher().check_needs_rehash(stored.hash):
        stored.hash = passwords.hash_password(password)
    session.execute(sa.delete(SignInFailureRow).where(SignInFailureRow.user_name == name))
    housekeeping(uow, now, policy)
    signed = start_session(uow, name=name, auth="password", now=now)
    uow.commit()
    return signed


def housekeeping(uow: UnitOfWork, now: datetime, policy: Policy) -> None:
    """Forget sessions past their lifetime and failures past the window (the access log keeps the record)."""
    uow.session.execute(sa.delete(SessionRow).where(SessionRow.created_at < now - policy.absolute))
    uow.session.execute(sa.delete(SignInFailureRow).where(SignInFailureRow.at < now - policy.window))


def start_session(uow: UnitOfWork, *, name: str, auth: str, now: datetime) -> Signed:
    """A fresh session row (a new id at every sign-in), logged; committed by the caller."""
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    uow.session.add(SessionRow(id_hash=digest(secret), user_name=name, auth=auth, csrf=csrf, created_at=now,
                               last_seen_at=now))  # fmt: skip
    record(uow.session, at=now, actor=name, action="session.create", outcome="granted", auth=auth)
    return Signed(secret, csrf, name, auth)


@dataclass(frozen=True)
class LiveSession:
    """A session found live, detached from the unit of work that read it."""

    id_hash: str
    user_name: str
    auth: str
    csrf: str
    last_seen_at: datetime


def session_user(uow: UnitOfWork, secret: str, now: datetime, policy: Policy) -> LiveSession | None:
    """The live session for a cookie's id; None when unknown, ended, idle or too old."""
    row = uow.session.get(SessionRow, digest(secret))
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen_at > policy.idle or now - row.created_at > policy.absolute:
        return None
    user = uow.session.get(UserRow, row.user_name)
    if user is None or user.disabled_at is not None:
        return None
    return LiveSession(row.id_hash, row.user_name, row.auth, row.csrf, row.last_seen_at)


def touch(uow: UnitOfWork, row: LiveSession, now: datetime) -> None:
    """Move the idle deadline on (in a write unit of work), at most every TOUCH_EVERY."""
    if now - row.last_seen_at >= TOUCH_EVERY:
        uow.session.execute(sa.update(SessionRow).where(SessionRow.id_hash == row.id_hash).values(last_seen_at=now))
        uow.commit()


def sign_out(uow: UnitOfWork, *, secret: str, now: datetime) -> bool:
    """End the session with this id; whether there was a live one."""
    row = uow.session.get(SessionRow, digest(secret))
    if row is None or row.ended_at is not None:
        return False
    row.ended_at = now
    record(uow.session, at=now, actor=row.user_name, action="session.delete", outcome="granted", auth=row.auth)
    uow.commit()
    return True
