"""One whole `advance`, in process, on SQLite: at 20 and at 200 events of history.

Times what `pathway advance` does once its modules are loaded: open a unit of work,
authorize, load the episode, judge, append the event, reconcile its flags, commit;
median of many runs, each on an episode of the given history length. Beside it, the
floor measured in the same run: a raw sqlite3 round trip on the same kind of file
(WAL, synchronous=NORMAL): read a row, insert a row, update it, commit. Prints
figures; asserts nothing. Run: python bench/advance.py [--episodes 30]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from pathway.clock import now_utc  # noqa: E402
from pathway.db import migrate  # noqa: E402
from pathway.db.engine import create_engine, resolve_url  # noqa: E402
from pathway.db.uow import UnitOfWork  # noqa: E402
from pathway.services import Actor  # noqa: E402
from pathway.services.access import authorize  # noqa: E402
from pathway.services.advance import advance  # noqa: E402
from pathway.services.episodes import open_episode  # noqa: E402

ACTOR = Actor("bench")
IN_CARE = [
    ("order_radiographs", []),
    ("record_radiographs", ["result=negative"]),
    ("order_mri", []),
    ("record_mri", ["ifs_mm=11", "qfs_mm=9", "qf_edema=true", "qf_fatty_replacement=false"]),
    ("confirm_diagnosis", []),
    ("start_conservative", ["pain=7"]),
]
ON = date(2026, 1, 10)


def step(engine: sa.Engine, eid: int, trigger: str, sets: list[str]) -> float:
    """One whole advance; returns its milliseconds."""
    start = time.perf_counter()
    with UnitOfWork(engine, write=True) as uow:
        actor = authorize(uow, ACTOR, f"advance.{trigger}", episode_id=eid, now=now_utc())
        advance(uow, episode_id=eid, trigger=trigger, assignments=sets, occurred_on=ON, override_reason=None,
                actor=actor, now=now_utc())  # fmt: skip
    return (time.perf_counter() - start) * 1e3


def episode(engine: sa.Engine, n: int, events: int) -> int:
    """An episode in conservative care with ``events`` events (the opening one included)."""
    with UnitOfWork(engine, write=True) as uow:
        eid = open_episode(uow, patient_ref=f"B-{n}", side="left", referred_on=date(2026, 1, 5),
                           has_hip_arthroplasty=False, actor=ACTOR, now=now_utc())  # fmt: skip
    for trigger, sets in IN_CARE:
        step(engine, eid, trigger, sets)
    for i in range(events - 1 - len(IN_CARE)):
        step(engine, eid, "record_followup", [f"pain={i % 11}", f"note=visit {i}"])  # distinct: no likely duplicate
    return eid


def raw_round_trip(path: Path, n: int) -> float:
    """The floor: read a row, insert a row, update it, commit, with the sqlite3 module alone (median ms)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v INTEGER, note TEXT)")
    conn.execute("INSERT INTO t (v, note) VALUES (0, 'seed')")
    times = []
    for i in range(n):
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("SELECT v FROM t WHERE id = 1").fetchone()
        row = conn.execute("INSERT INTO t (v, note) VALUES (?, ?)", (i, "x" * 200)).lastrowid
        conn.execute("UPDATE t SET v = v + 1 WHERE id = ?", (row,))
        conn.execute("COMMIT")
        times.append((time.perf_counter() - start) * 1e3)
    conn.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=30, help="episodes per history length (one run each)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = resolve_url(f"sqlite:///{folder}/bench.sqlite3")[0]
        engine = create_engine(url, pooled=True)  # as a long-running process (the server) has it
        per_command = create_engine(url)  # as one `pathway advance` process has it: connect, and close after
        migrate.upgrade(engine)
        floor = raw_round_trip(Path(folder) / "floor.sqlite3", 500)
        medians, unpooled = {}, {}
        for size in (20, 200):
            ids = [episode(engine, size * 1000 + n, size) for n in range(options.episodes)]
            medians[size] = statistics.median(step(engine, eid, "record_followup", ["pain=3", "note=a"]) for eid in ids)
            unpooled[size] = statistics.median(step(per_command, eid, "record_followup", ["pain=3", "note=b"]) for eid in ids)
        engine.dispose()
    print(f"raw sqlite3 round trip (read, insert, update, commit): {floor:.3f} ms median (the floor)")
    for size, ms in medians.items():
        print(f"advance, whole, in process, {size:3} events of history: {ms:7.3f} ms median ({ms / floor:.0f}x the floor); "
              f"with its own connection, as one command: {unpooled[size]:.3f} ms")  # fmt: skip
    print(f"200 events / 20 events: {medians[200] / medians[20]:.2f}x (target: advance at most 1 ms, at most 1.2x)")


if __name__ == "__main__":
    main()
