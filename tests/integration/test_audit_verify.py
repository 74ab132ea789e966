"""`pathway audit verify` catches rows tampered with directly in SQL, every way, on both back ends.

Each tamperer first drops (SQLite) or disables (PostgreSQL) the append-only triggers, as
someone with the database owner's rights could; verification must not depend on them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from pathway.db import access_log
from pathway.db.models import EpisodeRow, EventRow
from pathway.domain.audit import chain_hash, payload_of
from tests.conftest import Pathway

E = EventRow.__table__
EP = EpisodeRow.__table__


def build(pathway: Pathway) -> int:
    """An episode of 6 events ending with a state change, and a second, untouched one."""
    eid = pathway.open("MRN-7", "left", "2026-01-05")
    pathway.advance(eid, "order_radiographs", "2026-01-06")
    pathway.advance(eid, "record_radiographs", "2026-01-08", "result=negative")
    pathway.advance(eid, "order_mri", "2026-01-09")
    pathway.advance(eid, "record_mri", "2026-01-20", "ifs_mm=12", "qfs_mm=8", "qf_edema=true",
                    "qf_fatty_replacement=false")  # fmt: skip
    pathway.advance(eid, "confirm_diagnosis", "2026-01-21")
    other = pathway.open("MRN-8", "right", "2026-01-05")
    pathway.advance(other, "order_radiographs", "2026-01-06")
    return eid


@contextmanager
def without_triggers(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction in which the append-only triggers do not fire.

    SQLite: they are dropped (each test has its own database file). PostgreSQL: they are
    disabled and re-enabled before commit, so that later tests on the shared database
    still have them.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            for name in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars().all():
                conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
            yield conn
            return
        for table in ("events", "access_log", "user_changes", "checkpoints"):
            conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        yield conn
        for table in ("events", "access_log", "user_changes", "checkpoints"):
            conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def event(conn: sa.Connection, eid: int, seq: int) -> dict[str, Any]:
    return dict(conn.execute(sa.select(E).where(E.c.episode_id == eid, E.c.seq == seq)).mappings().one())


def forged(row: dict[str, Any], prev_hash: str, **changes: Any) -> dict[str, Any]:
    """A row re-hashed correctly by someone who knows the (public) hashing scheme."""
    row = {**row, **changes, "prev_hash": prev_hash}
    row.pop("id", None)
    payload = payload_of(row)
    row["hash"] = chain_hash(prev_hash, payload)
    return row


def renumber(conn: sa.Connection, eid: int, from_seq: int, delta: int) -> None:
    """Shift seq by ``delta`` from ``from_seq`` on, in two steps (seq is unique)."""
    where = (E.c.episode_id == eid) & (E.c.seq >= from_seq)
    conn.execute(sa.update(E).where(where).values(seq=-(E.c.seq + delta)))
    conn.execute(sa.update(E).where((E.c.episode_id == eid) & (E.c.seq < 0)).values(seq=-E.c.seq))


def edit_fields(conn: sa.Connection, eid: int) -> None:
    conn.execute(sa.update(E).where(E.c.episode_id == eid, E.c.seq == 3).values(fields={"result": "suggestive_ifi"}))


def edit_actor(conn: sa.Connection, eid: int) -> None:
    conn.execute(sa.update(E).where(E.c.episode_id == eid, E.c.seq == 2).values(actor="someone-else"))


def edit_and_rehash(conn: sa.Connection, eid: int) -> None:
    row = event(conn, eid, 3)
    new = forged(row, row["prev_hash"], fields={"result": "equivocal"})
    conn.execute(sa.update(E).where(E.c.id == row["id"]).values(fields=new["fields"], hash=new["hash"]))


def edit_prev_hash(conn: sa.Connection, eid: int) -> None:
    conn.execute(sa.update(E).where(E.c.episode_id == eid, E.c.seq == 4).values(prev_hash="f" * 64))


def delete_middle(conn: sa.Connection, eid: int) -> None:
    conn.execute(sa.delete(E).where(E.c.episode_id == eid, E.c.seq == 3))


def delete_middle_and_renumber(conn: sa.Connection, eid: int) -> None:
    delete_middle(conn, eid)
    renumber(conn, eid, 4, -1)


def delete_last(conn: sa.Connection, eid: int) -> None:
    conn.execute(sa.delete(E).where(E.c.episode_id == eid, E.c.seq == 6))


def delete_last_and_fix_head(conn: sa.Connection, eid: int) -> None:
    fifth = event(conn, eid, 5)
    delete_last(conn, eid)
    conn.execute(sa.update(EP).where(EP.c.id == eid).values(event_count=5, version=5, head_hash=fifth["hash"]))


def insert_forged_at_end(conn: sa.Connection, eid: int) -> None:
    last = event(conn, eid, 6)
    conn.execute(sa.insert(E).values(**forged(last, last["hash"], seq=7, trigger="amend", from_state="diagnosed",
                                              fields={"has_hip_arthroplasty": True, "reason": "x"})))  # fmt: skip


def insert_garbage_at_end(conn: sa.Connection, eid: int) -> None:
    last = event(conn, eid, 6)
    row = {**last, "seq": 7, "prev_hash": last["hash"], "hash": "0" * 64}
    row.pop("id")
    conn.execute(sa.insert(E).values(**row))


def insert_in_middle(conn: sa.Connection, eid: int) -> None:
    third = event(conn, eid, 3)
    renumber(conn, eid, 4, 1)
    conn.execute(sa.insert(E).values(**forged(third, third["hash"], seq=4, fields={"result": "equivocal"})))


def reorder(conn: sa.Connection, eid: int) -> None:
    conn.execute(sa.update(E).where(E.c.episode_id == eid, E.c.seq == 3).values(seq=-3))
    conn.execute(sa.update(E).where(E.c.episode_id == eid, E.c.seq == 4).values(seq=3))
    conn.execute(sa.update(E).where(E.c.episode_id == eid, E.c.seq == -3).values(seq=4))


def row_patient(conn: sa.Connection, eid: int) -> None:
    conn.execute(sa.update(EP).where(EP.c.id == eid).values(patient_ref="MRN-9999"))


def row_side(conn: sa.Connection, eid: int) -> None:
    conn.execute(sa.update(EP).where(EP.c.id == eid).values(side="right"))


def row_state(conn: sa.Connection, eid: int) -> None:
    conn.execute(sa.update(EP).where(EP.c.id == eid).values(state="conservative_care"))


def row_rules(conn: sa.Connection, eid: int) -> None:
    conn.execute(sa.text("INSERT INTO rule_sets (version, status, created_at, created_by, note) "
                         "VALUES (2, 'draft', CURRENT_TIMESTAMP, 'x', '')"))  # fmt: skip
    conn.execute(sa.update(EP).where(EP.c.id == eid).values(rules_version=2))


def row_head(conn: sa.Connection, eid: int) -> None:
    conn.execute(sa.update(EP).where(EP.c.id == eid).values(head_hash="a" * 64))


CASES: dict[str, tuple[Callable[[sa.Connection, int], None], str, int | None, str]] = {
    "edited fields": (edit_fields, "edited", 3, "event"),
    "edited actor": (edit_actor, "edited", 2, "event"),
    "edited and re-hashed": (edit_and_rehash, "edited", 3, "event"),
    "edited link": (edit_prev_hash, "edited", 4, "event"),
    "deleted": (delete_middle, "deleted", 3, "event"),
    "deleted and renumbered": (delete_middle_and_renumber, "deleted", 3, "event"),
    "deleted last": (delete_last, "deleted", 6, "event"),
    "deleted last, head moved back": (delete_last_and_fix_head, "edited", None, "episode"),
    "inserted at end, well hashed": (insert_forged_at_end, "inserted", 7, "event"),
    "inserted at end, bad hash": (insert_garbage_at_end, "inserted", 7, "event"),
    "inserted in the middle": (insert_in_middle, "inserted", 4, "event"),
    "reordered": (reorder, "reordered", 3, "event"),
    "episode patient changed": (row_patient, "edited", None, "episode"),
    "episode side changed": (row_side, "edited", None, "episode"),
    "episode state changed": (row_state, "edited", None, "episode"),
    "episode rules changed": (row_rules, "edited", None, "episode"),
    "episode head changed": (row_head, "edited", 6, "event"),
}


@pytest.mark.parametrize("case", CASES)
def test_tampering_is_found_and_named(pathway: Pathway, engine: sa.Engine, case: str) -> None:
    tamper, kind, seq, where = CASES[case]
    eid = build(pathway)
    assert pathway("audit", "verify").exit_code == 0
    with without_triggers(engine) as conn:
        tamper(conn, eid)
    result = pathway("--json", "audit", "verify")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["intact"] is False
    assert [b["episode_id"] for b in report["broken"]] == [eid]  # the other episode is intact
    broken = report["broken"][0]
    assert (broken["kind"], broken["seq"], broken["where"]) == (kind, seq, where), broken["message"]
    assert "MRN" not in result.output  # never a patient identifier
    assert "1 of 2 episodes" in result.stderr and result.stderr.count("\n") == 1
    human = pathway("audit", "verify", "--episode", str(eid))
    assert human.exit_code == 1
    assert human.stdout.startswith(f"episode {eid}: {kind}")


def test_intact_trail_exits_0_with_one_sentence(pathway: Pathway) -> None:
    build(pathway)
    result = pathway("audit", "verify")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "Intact: 2 episodes and 8 events match their hash chains and chain heads.\n"
    assert pathway.json("audit", "verify", "--episode", "1") == {"intact": True, "episodes": 1, "events": 6,
                                                                "broken": [], "problems": []}  # fmt: skip


def test_unknown_episode_is_exit_3(pathway: Pathway) -> None:
    assert pathway("audit", "verify", "--episode", "42").exit_code == 3


def test_a_deleted_episode_row_is_found(pathway: Pathway, engine: sa.Engine) -> None:
    eid = build(pathway)
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
        with conn.begin():
            if not sqlite:
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")  # no foreign key check
            conn.execute(sa.delete(EP).where(EP.c.id == eid))
    report = json.loads(pathway("--json", "audit", "verify").stdout)
    assert report["broken"][0]["kind"] == "deleted" and report["broken"][0]["where"] == "episode"


def test_all_events_deleted_is_found(pathway: Pathway, engine: sa.Engine) -> None:
    eid = build(pathway)
    with without_triggers(engine) as conn:
        conn.execute(sa.delete(E).where(E.c.episode_id == eid))
    report = json.loads(pathway("--json", "audit", "verify").stdout)
    assert (report["broken"][0]["kind"], report["broken"][0]["seq"]) == ("deleted", 1)


@pytest.mark.parametrize("statement", [
    "UPDATE events SET actor = 'x' WHERE seq = 2",
    "DELETE FROM events WHERE seq = 6",
    "UPDATE access_log SET actor = 'x'",
    "DELETE FROM access_log",
])  # fmt: skip
def test_triggers_refuse_changes_to_the_audit_tables(pathway: Pathway, engine: sa.Engine, statement: str) -> None:
    build(pathway)
    with engine.begin() as conn:
        access_log.append(conn, at=datetime.now(UTC), actor="a", role=None, action="x", outcome="granted",
                          episode_id=None, detail={})  # fmt: skip
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(sa.text(statement))
    assert pathway("audit", "verify").exit_code == 0


@pytest.mark.postgres_only
def test_truncate_is_refused_on_postgresql(pathway: Pathway, engine: sa.Engine) -> None:
    build(pathway)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE events CASCADE"))
