"""The access log: the one place its rows are written, each hash-chained to the last.

Appends are serialised on the one-row chain head (``access_log_head``): PostgreSQL
locks it ``FOR UPDATE``; SQLite's write transactions are serialised already. So the
chain never forks, and `audit verify` notices an edited, removed or inserted row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from pathway.db.models import AccessLogHeadRow, AccessLogRow
from pathway.domain.audit import ACCESS_FIELDS, GENESIS, access_payload, access_payload_of, canonical_json, chain_hash
from pathway.domain.fields import canonical_value

LOG: sa.Table = AccessLogRow.__table__  # type: ignore[assignment]
HEAD: sa.Table = AccessLogHeadRow.__table__  # type: ignore[assignment]
AUTH = ("password", "oidc", "token", "claimed")


def append(
    connection: sa.Connection,
    *,
    at: datetime,
    actor: str,
    role: str | None,
    action: str,
    outcome: str,
    episode_id: int | None,
    detail: Any,
    auth: str = "claimed",
) -> str:
    """Write one row after the current head; returns its hash. Never a patient reference in ``detail``."""
    if auth not in AUTH:
        raise ValueError(f"unknown authentication method {auth!r}")
    detail = canonical_value(detail)  # hashed as the database will give it back
    columns = dict(at=at, actor=actor, role=role, action=action, outcome=outcome, episode_id=episode_id,
                   detail=detail, auth=auth)  # fmt: skip
    if connection.dialect.name == "postgresql":
        digest = _append_in_one_statement(connection, columns)
        if digest is not None:
            return digest
    query = _HEAD_LOCKED if connection.dialect.name == "postgresql" else _HEAD
    head = connection.execute(query).first()
    if head is None:  # the migration writes the head row; only an emptied table lacks it
        if connection.dialect.name == "postgresql":  # a concurrent first writer may insert it too
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            connection.execute(pg_insert(HEAD).values(id=1, count=0, hash=GENESIS).on_conflict_do_nothing())
            head = connection.execute(query).one()
        else:
            connection.execute(sa.insert(HEAD).values(id=1, count=0, hash=GENESIS))
    count, prev = head if head is not None else (0, GENESIS)
    digest = chain_hash(prev, access_payload(**columns))
    connection.execute(_INSERT, {**columns, "prev_hash": prev, "hash": digest})
    connection.execute(_MOVE, {"new_count": count + 1, "new_hash": digest})
    return digest


# Built once: every read is logged, and building these costs more than SQLite running them.
_HEAD = sa.select(HEAD.c.count, HEAD.c.hash).where(HEAD.c.id == 1)
_HEAD_LOCKED = _HEAD.with_for_update()
_INSERT = sa.insert(LOG)
_MOVE = sa.update(HEAD).where(HEAD.c.id == 1).values(count=sa.bindparam("new_count"), hash=sa.bindparam("new_hash"))


def _append_in_one_statement(connection: sa.Connection, columns: dict[str, Any]) -> str | None:
    """PostgreSQL: lock the head, chain the row and move the head in one round trip.

    The hash is the one ``chain_hash`` gives, ``sha256(prev + "\\n" + payload)``, computed
    by the server from the head it has just locked, so that every read (each is logged)
    pays one round trip for its row. None when the head row is missing.
    """
    payload = canonical_json(access_payload(**columns))
    return connection.execute(_chained_insert(), {**columns, "payload": payload}).scalar()


@cache
def _chained_insert() -> sa.Insert:
    """Built once: constructing a statement this size costs more than running it."""
    old = sa.select(HEAD.c.id, HEAD.c.count, HEAD.c.hash).where(HEAD.c.id == 1).with_for_update().cte("old")
    payload = sa.bindparam("payload", type_=sa.Text)
    digest = sa.func.encode(sa.func.sha256(sa.func.convert_to(old.c.hash + "\n" + payload, "UTF8")), "hex")
    new = sa.select(
        old.c.id, (old.c.count + 1).label("count"), old.c.hash.label("prev"), digest.label("hash")
    ).cte("new")
    moved = sa.update(HEAD).where(HEAD.c.id == new.c.id).values(count=new.c.count, hash=new.c.hash)
    row = sa.select(*(sa.bindparam(n, type_=LOG.c[n].type) for n in ACCESS_FIELDS), new.c.prev, new.c.hash)
    insert = sa.insert(LOG).from_select([*ACCESS_FIELDS, "prev_hash", "hash"], row)
    return insert.add_cte(moved.cte("moved")).returning(LOG.c.hash)


def head(connection: sa.Connection) -> tuple[int, str]:
    """The recorded (row count, latest hash): (0, GENESIS) for an empty log."""
    row = connection.execute(_HEAD).first()
    return (row[0], row[1]) if row is not None else (0, GENESIS)


def rows(connection: sa.Connection) -> Iterator[sa.RowMapping]:
    """Every row in append (id) order, streamed."""
    query = sa.select(LOG).order_by(LOG.c.id)
    # Options for this statement only: set on the connection, they would make a later INSERT a cursor.
    yield from connection.execute(query, execution_options={"stream_results": True, "yield_per": 2000}).mappings()


def verify(connection: sa.Connection) -> list[str]:
    """What is wrong with the access log's chain: sentences naming the first broken row, or none."""
    prev, count = GENESIS, 0
    for row in rows(connection):
        count += 1
        if row["prev_hash"] != prev:
            return [f"access log row {row['id']} does not follow the row before it: a row before it was removed "
                    "or inserted."]  # fmt: skip
        if chain_hash(prev, access_payload_of(row)) != row["hash"]:
            return [f"access log row {row['id']} was changed: its content no longer matches its hash."]
        prev = row["hash"]
    kept_count, kept_hash = head(connection)
    if (kept_count, kept_hash) != (count, prev):
        if kept_count > count:
            return [f"the access log ends at {count} rows but its chain head records {kept_count}: "
                    "the last rows were removed."]  # fmt: skip
        return ["the access log's chain head does not match its last row: rows were added or the head changed."]
    return []


def running_heads(connection: sa.Connection, sizes: Iterable[int]) -> tuple[int, str, dict[int, str]]:
    """The row count and recomputed chain hash, and the recomputed hash after each wanted count.

    Recomputed from the rows' content, not read from their stored hashes, so that a
    checkpoint's head is matched only by the very rows it covered.
    """
    wanted = set(sizes)
    prev, count = GENESIS, 0
    found = {0: GENESIS} if 0 in wanted else {}
    for row in rows(connection):
        prev = chain_hash(prev, access_payload_of(row))
        count += 1
        if count in wanted:
            found[count] = prev
    return count, prev, found
