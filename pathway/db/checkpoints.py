"""Reading the whole database's state for a checkpoint, and keeping checkpoints.

Everything a checkpoint states is read in one snapshot. On PostgreSQL, events, access
log and user changes are first locked in SHARE mode: that waits for every transaction
already appending to them and holds new ones back until the checkpoint is taken, so
that no row with a smaller id can commit after the checkpoint has counted a larger one
(a sequence hands out ids in insert order, not commit order). SQLite writers are
serialised already.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pathway.db.models import CheckpointRow, EventRow, RuleRow, RuleSetRow, UserChangeRow, UserRoleRow, UserRow
from pathway.domain.audit import GENESIS
from pathway.domain.checkpoint import rule_set_digest
from pathway.domain.user_history import State, change_hash

BATCH = 2_000
LOCKED = ("events", "access_log", "user_changes")


def lock_appends(connection: sa.Connection) -> None:
    """Hold back every append until this transaction ends (PostgreSQL; a no-op on SQLite)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"LOCK TABLE {', '.join(LOCKED)} IN SHARE MODE")


def event_leaves(connection: sa.Connection) -> Iterator[bytes]:
    """Every event's hash, in global append order (the events' ids)."""
    query = sa.select(EventRow.hash).order_by(EventRow.id)
    for (value,) in connection.execute(query, execution_options={"stream_results": True, "yield_per": BATCH}):
        yield str(value).encode()


def rule_digests(connection: sa.Connection) -> dict[int, str]:
    """The digest of each rule set that has left draft (its rules can no longer change)."""
    sets = connection.execute(
        sa.select(RuleSetRow.version, RuleSetRow.activated_at).where(RuleSetRow.status != "draft")
    ).all()
    rules: dict[int, list[Mapping[str, Any]]] = {version: [] for version, _ in sets}
    query = sa.select(RuleRow.__table__).where(RuleRow.rule_set_version.in_(list(rules)))
    for row in connection.execute(query).mappings():
        rules[row["rule_set_version"]].append(dict(row))
    return {version: rule_set_digest(version, activated_at, rules[version]) for version, activated_at in sets}


def user_changes(connection: sa.Connection) -> Iterator[Mapping[str, Any]]:
    query = sa.select(UserChangeRow.__table__).order_by(UserChangeRow.id)
    for row in connection.execute(query).mappings():
        yield dict(row)


def user_heads(changes: Iterable[Mapping[str, Any]], sizes: Iterable[int]) -> tuple[int, str, dict[int, str]]:
    """The count and running hash of the changes, and the running hash after each wanted count."""
    wanted = set(sizes)
    head, count = GENESIS, 0
    found = {0: GENESIS} if 0 in wanted else {}
    for c in changes:
        head = change_hash(head, at=c["at"], actor=c["actor"], user_name=c["user_name"], change=c["change"],
                           role=c["role"])  # fmt: skip
        count += 1
        if count in wanted:
            found[count] = head
    return count, head, found


def current_users(connection: sa.Connection) -> State:
    """The users table as (active, roles) by name."""
    state: State = {
        name: (disabled_at is None, frozenset())
        for name, disabled_at in connection.execute(sa.select(UserRow.name, UserRow.disabled_at))
    }
    for name, role in connection.execute(sa.select(UserRoleRow.user_name, UserRoleRow.role)):
        active, roles = state.get(name, (True, frozenset()))
        state[name] = (active, roles | {role})
    return state


def has_had_users(connection: sa.Connection) -> bool:
    return connection.scalar(sa.select(UserChangeRow.id).limit(1)) is not None


def keep(connection: sa.Connection, *, at: datetime, actor: str, statement: str) -> None:
    connection.execute(sa.insert(CheckpointRow).values(at=at, actor=actor, statement=statement))
