"""Local passwords: the rules a new one must meet, and argon2id hashing.

The parameters (RFC 9106's second recommended option: 3 passes over 64 MiB, 4 lanes,
16-byte salt, 32-byte hash) are written into every hash, so raising them later still
verifies old hashes, and ``needs_rehash`` upgrades them at the next sign-in.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from pathway.db.models import PasswordRow, UserRow
from pathway.db.uow import UnitOfWork
from pathway.errors import AccessDenied, InvalidInput, NotFound
from pathway.services import Actor
from pathway.services.access import authorize

MIN_LENGTH = 12
TIME_COST, MEMORY_KIB, LANES = 3, 64 * 1024, 4

# Common passwords of 12 characters or more, as breached-password lists rank them.
COMMON = frozenset(
    {
        "123456789012", "1234567890123", "12345678901234", "123123123123", "111111111111", "000000000000",
        "password1234", "password12345", "password123!", "passwordpassword", "qwertyuiopas", "qwerty123456",
        "qwertyuiop123", "1q2w3e4r5t6y", "1qaz2wsx3edc", "iloveyou1234", "letmein12345", "welcome12345",
        "administrator", "abcdefghijkl", "abc123abc123", "aaaaaaaaaaaa", "changeme1234", "trustno11234",
        "football1234", "baseball1234", "monkey123456", "sunshine1234", "princess1234", "superman1234",
        "dragon123456", "master123456", "asdfghjklzxc", "zaq12wsxcde3", "hospital1234", "password2026",
    }
)  # fmt: skip


@cache
def hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=LANES, hash_len=32,
                          salt_len=16, type=Type.ID)  # fmt: skip


def check_rules(name: str, password: str) -> str:
    """``password`` if it meets the rules, else InvalidInput saying which it breaks."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"The password is shorter than {MIN_LENGTH} characters; choose a longer one.")
    if password.strip().casefold() == name.casefold():
        raise InvalidInput("The password is the user name; choose another.")
    if password.casefold() in COMMON:
        raise InvalidInput("That password is on the list of common passwords; choose another.")
    return password


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; with no stored hash, a dummy check of equal cost."""
    try:
        return hasher().verify(stored or _dummy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy() -> str:
    return hash_password("not a password anyone has")


def set_password(uow: UnitOfWork, *, name: str, password: str, actor: Actor, now: datetime) -> dict[str, Any]:
    """Set ``name``'s password: by an admin, or by the user themself."""
    session = uow.session
    user = session.get(UserRow, name)
    if actor.name != name:
        authorize(uow, actor, "user.password", now=now)
    if user is None:
        raise NotFound(f"There is no user {name}; `pathway user list` shows the users.")
    if user.disabled_at is not None:
        raise AccessDenied(f"User {name} is disabled; enable them first with `pathway user enable {name}`.")
    hashed = hash_password(check_rules(name, password))
    row = session.get(PasswordRow, name)
    if row is None:
        session.add(PasswordRow(user_name=name, hash=hashed, set_at=now, set_by=actor.name))
    else:
        row.hash, row.set_at, row.set_by = hashed, now, actor.name
    uow.commit()
    return {"name": name, "set_at": now.isoformat(), "set_by": actor.name}
