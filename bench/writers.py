"""Concurrent writers: throughput, conflicts (exit 4) and what access control costs.

N processes each record M follow-ups through the service layer, either on an episode of
their own or all on one shared episode (the same-episode throughput: `advance` locks the
episode row, so writers queue and none should get exit 4), on SQLite (WAL) and, when
reachable, PostgreSQL.
Also times one `advance` in open mode and with users and roles enforced. Prints
figures; asserts nothing. Run: python bench/writers.py [--writers 8] [--steps 40]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from pathway.clock import now_utc  # noqa: E402
from pathway.db import migrate  # noqa: E402
from pathway.db.engine import create_engine, resolve_url  # noqa: E402
from pathway.db.uow import UnitOfWork  # noqa: E402
from pathway.errors import Conflict  # noqa: E402
from pathway.services import Actor  # noqa: E402
from pathway.services.access import authorize  # noqa: E402
from pathway.services.advance import advance  # noqa: E402
from pathway.services.episodes import open_episode  # noqa: E402
from pathway.services.users import add_user, ensure_admin  # noqa: E402

PG_URL = os.environ.get("PATHWAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CARE = [
    ("order_radiographs", []),
    ("record_radiographs", ["result=negative"]),
    ("order_mri", []),
    ("record_mri", ["ifs_mm=11", "qfs_mm=9", "qf_edema=true", "qf_fatty_replacement=false"]),
    ("confirm_diagnosis", []),
    ("start_conservative", []),
]
ACTOR = Actor("bench")


def _step(engine: sa.Engine, eid: int, trigger: str, sets: list[str], actor: Actor = ACTOR) -> None:
    with UnitOfWork(engine, write=True) as uow:
        advance(uow, episode_id=eid, trigger=trigger, assignments=sets, occurred_on=date(2026, 1, 10),
                override_reason=None, actor=actor, now=now_utc())  # fmt: skip


def _episode(engine: sa.Engine, n: int) -> int:
    with UnitOfWork(engine, write=True) as uow:
        eid = open_episode(uow, patient_ref=f"B-{n}", side="left", referred_on=date(2026, 1, 5),
                           has_hip_arthroplasty=False, actor=ACTOR, now=now_utc())  # fmt: skip
    for trigger, sets in IN_CARE:
        _step(engine, eid, trigger, sets)
    return eid


def _writer(args: tuple[str, int, int]) -> tuple[int, int]:
    url, eid, steps = args
    engine = create_engine(resolve_url(url)[0])
    saved = conflicts = 0
    for i in range(steps):
        try:
            _step(engine, eid, "record_followup", [f"pain={i % 11}", f"note=visit {i}"])  # never a duplicate
            saved += 1
        except Conflict:
            conflicts += 1
    engine.dispose()
    return saved, conflicts


def _run(url: str, writers: int, steps: int) -> None:
    engine = create_engine(resolve_url(url)[0])
    migrate.upgrade(engine)
    own = [_episode(engine, n) for n in range(writers)]
    shared = _episode(engine, writers)
    backend = engine.url.get_backend_name()
    with multiprocessing.Pool(writers) as pool:
        for label, targets in (("own episodes", own), ("the same episode", [shared] * writers)):
            start = time.perf_counter()
            results = pool.map(_writer, [(url, eid, steps) for eid in targets])
            elapsed = time.perf_counter() - start
            saved = sum(s for s, _ in results)
            conflicts = sum(c for _, c in results)
            print(f"{backend:10} {writers} writers x {steps} on {label:18}: {saved / elapsed:7.0f} events/s, "
                  f"{conflicts} exit-4 conflicts ({100 * conflicts / (saved + conflicts):.1f}%)")  # fmt: skip
    _access_cost(engine, writers + 1)
    engine.dispose()


def _access_cost(engine: sa.Engine, first: int, n: int = 100) -> None:
    """One advance on a fresh episode (so that both runs load equally long histories)."""

    def timed(number: int) -> float:
        eid = _episode(engine, number)
        start = time.perf_counter()
        for i in range(n):
            with UnitOfWork(engine, write=True) as uow:
                actor = authorize(uow, ACTOR, "advance.record_followup", episode_id=eid, now=now_utc())
                advance(uow, episode_id=eid, trigger="record_followup", assignments=["pain=3", f"note=visit {i}"],
                        occurred_on=date(2026, 1, 10), override_reason=None, actor=actor, now=now_utc())  # fmt: skip
        return (time.perf_counter() - start) / n * 1e3

    open_mode = timed(first)
    with UnitOfWork(engine, write=True) as uow:
        ensure_admin(uow, name="admin", actor=ACTOR, now=now_utc())
    with UnitOfWork(engine, write=True) as uow:
        add_user(uow, name="bench", role="coordinator", actor=Actor("admin"), now=now_utc())
    closed = timed(first + 1)
    backend = engine.url.get_backend_name()
    print(f"{backend:10} one advance (authorize included): {open_mode:.2f} ms open mode, {closed:.2f} ms with roles")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--steps", type=int, default=40)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        _run(f"sqlite:///{folder}/bench.sqlite3", options.writers, options.steps)
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"pathway_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError:
        print("PostgreSQL is not reachable: its figures are skipped.")
        return
    try:
        _run(sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False), options.writers,
             options.steps)  # fmt: skip
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
