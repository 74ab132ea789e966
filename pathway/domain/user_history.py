"""The history of users and roles: what the current users follow from, and its running hash.

Pure. ``fold`` replays the changes in order; `audit verify` compares the result with the
``users`` and ``user_roles`` tables, so a role inserted or a user deleted by hand is
noticed, and a checkpoint records the running hash of the changes so far.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pathway.domain.audit import chain_hash, utc_text

State = dict[str, tuple[bool, frozenset[str]]]  # name -> (active, roles)


def change_hash(prev: str, *, at: datetime, actor: str, user_name: str, change: str, role: str | None) -> str:
    payload = {"at": utc_text(at), "actor": actor, "user": user_name, "change": change, "role": role}
    return chain_hash(prev, payload)


def fold(changes: Iterable[Mapping[str, Any]]) -> State:
    """The users (active or not, with their roles) that ``changes`` lead to."""
    state: State = {}
    for c in changes:
        name, role = c["user_name"], c["role"]
        active, roles = state.get(name, (True, frozenset()))
        if c["change"] in ("added", "granted"):
            roles = roles | {role}
        elif c["change"] == "revoked":
            roles = roles - {role}
        elif c["change"] in ("disabled", "enabled"):
            active = c["change"] == "enabled"
        state[name] = (active, roles)
    return state


def state_digest(state: State) -> list[list[Any]]:
    """A canonical form of ``state``, for a checkpoint's digest."""
    return [[name, active, sorted(roles)] for name, (active, roles) in sorted(state.items())]


def differences(recorded: State, current: State) -> list[str]:
    """Sentences on how the current users differ from their history; user names are not patient data."""
    found = []
    for name in sorted(recorded.keys() | current.keys()):
        if name not in current:
            found.append(f"user {name} is in the history of users but missing from the users table.")
        elif name not in recorded:
            found.append(f"user {name} is in the users table but no recorded change added them.")
        elif recorded[name] != current[name]:
            (was_active, was_roles), (active, roles) = recorded[name], current[name]
            if was_roles != roles:
                found.append(f"user {name} holds the roles {', '.join(sorted(roles)) or 'none'}, but their "
                             f"recorded changes give {', '.join(sorted(was_roles)) or 'none'}.")  # fmt: skip
            if was_active != active:
                found.append(f"user {name} is {'active' if active else 'disabled'}, but their recorded changes "
                             f"leave them {'active' if was_active else 'disabled'}.")  # fmt: skip
    return found
