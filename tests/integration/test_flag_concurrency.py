"""Overlapping runs of the job, and the job against a coordinator: no duplicate, no lost resolution.

The job runs in separate processes, as two cron or Kubernetes runs would. Where the
interleaving matters, the test holds one side's transaction open so that the other
side meets it for certain; on PostgreSQL it also checks that the waiting really happened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from pathway.db import flags
from pathway.db import repository as repo
from pathway.db.engine import WRITE
from pathway.db.models import EpisodeRow, FlagRow
from pathway.db.uow import UnitOfWork
from pathway.services import Actor
from pathway.services.advance import advance
from pathway.services.episodes import open_episode

D = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
LATER = "2026-04-01T06:00:00+00:00"  # every radiograph report below is overdue by then
ACTOR = Actor("coordinator")


def seed(engine: sa.Engine, n: int) -> list[int]:
    """``n`` episodes waiting for a radiograph report ordered on D."""
    ids = []
    for i in range(n):
        with UnitOfWork(engine, write=True) as uow:
            eid = open_episode(uow, patient_ref=f"MRN-{i}", side="left", referred_on=D, has_hip_arthroplasty=False,
                               actor=ACTOR, now=NOW)  # fmt: skip
        with UnitOfWork(engine, write=True) as uow:
            advance(uow, episode_id=eid, trigger="order_radiographs", assignments=[], occurred_on=D,
                    override_reason=None, actor=ACTOR, now=NOW)  # fmt: skip
        ids.append(eid)
    return ids


def start_job(engine: sa.Engine) -> subprocess.Popen[str]:
    url = engine.url.render_as_string(hide_password=False)
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "--db", url, "--json", "jobs", "flag-overdue", "--now", LATER],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PATHWAY_TIMEZONE": "UTC"},
    )  # fmt: skip


def result_of(job: subprocess.Popen[str]) -> dict[str, int]:
    out, err = job.communicate(timeout=120)
    assert job.returncode == 0, err
    return json.loads(out)


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> bool:
    """Poll ``condition`` until it holds (a synchronisation point, not a clock)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        threading.Event().wait(0.02)
    return False


def waiting_on_locks(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )


def has_open(pid: int, path: str) -> bool:
    try:
        return any(os.path.realpath(f"/proc/{pid}/fd/{fd}") == path for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def flag_state(engine: sa.Engine) -> list[tuple[int, str, bool, bool]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(FlagRow).order_by(FlagRow.episode_id, FlagRow.kind)).all()
    return [(r.episode_id, r.kind, r.opened_at is not None, r.resolved_at is not None) for r in rows]


def invariant_holds(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return all(e.version == e.event_count for e in conn.execute(sa.select(EpisodeRow)))


def write_connection(engine: sa.Engine) -> sa.Connection:
    connection = engine.connect()
    connection.execution_options(**{WRITE: True})
    connection.begin()
    return connection


def test_two_overlapping_runs_open_each_flag_once(engine: sa.Engine) -> None:
    ids = seed(engine, 40)
    postgres = engine.dialect.name == "postgresql"
    gate = write_connection(engine)  # both runs start, then meet this lock
    if postgres:
        gate.execute(sa.text("LOCK TABLE flags IN EXCLUSIVE MODE"))
    jobs = [start_job(engine), start_job(engine)]
    if postgres:
        assert wait_for(lambda: waiting_on_locks(engine) == 2), "both runs should be waiting for the gate"
    else:
        path = os.path.realpath(str(engine.url.database))
        assert wait_for(lambda: all(has_open(job.pid, path) for job in jobs))
    gate.rollback()
    gate.close()
    results = [result_of(job) for job in jobs]
    assert sum(r["opened"] for r in results) == len(ids)
    assert max(r["open"] for r in results) == len(ids)
    assert flag_state(engine) == [(eid, "radiograph_report", True, False) for eid in ids]
    assert result_of(start_job(engine)) == {"opened": 0, "resolved": 0, "open": len(ids)}
    assert invariant_holds(engine)


def test_a_run_that_meets_another_mid_way_opens_nothing_twice(engine: sa.Engine) -> None:
    """Run A has opened every due flag but not committed when run B starts."""
    ids = seed(engine, 10)
    first = write_connection(engine)
    opened = flags.open_due(first, today=date(2026, 4, 1), now=datetime(2026, 4, 1, 6, tzinfo=UTC))
    second = start_job(engine)
    if engine.dialect.name == "postgresql":
        # B skips the rows A holds (SKIP LOCKED) instead of waiting or opening them again.
        assert result_of(second) == {"opened": 0, "resolved": 0, "open": 0}
        first.commit()
    else:
        first.commit()  # B waits for A's write lock, then finds nothing left to open
        assert result_of(second) == {"opened": 0, "resolved": 0, "open": len(ids)}
    first.close()
    assert opened == len(ids)
    assert flag_state(engine) == [(eid, "radiograph_report", True, False) for eid in ids]


def test_advance_during_a_run_still_resolves_the_flag(engine: sa.Engine) -> None:
    """The run opens a flag; before it commits, a coordinator records the awaited report."""
    (eid,) = seed(engine, 1)
    run = write_connection(engine)
    assert flags.open_due(run, today=date(2026, 4, 1), now=datetime(2026, 4, 1, 6, tzinfo=UTC)) == 1
    errors: list[BaseException] = []

    def coordinator() -> None:
        try:
            with UnitOfWork(engine, write=True) as uow:
                advance(uow, episode_id=eid, trigger="record_radiographs", assignments=["result=negative"],
                        occurred_on=date(2026, 4, 1), override_reason=None, actor=ACTOR,
                        now=datetime(2026, 4, 1, 9, tzinfo=UTC))  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=coordinator)
    thread.start()
    if engine.dialect.name == "postgresql":
        assert wait_for(lambda: waiting_on_locks(engine) == 1), "advance should wait for the run's row lock"
    run.commit()
    run.close()
    thread.join(timeout=60)
    assert not errors, errors
    with engine.connect() as conn:
        flag = conn.execute(sa.select(FlagRow).where(FlagRow.kind == "radiograph_report")).one()
    assert flag.opened_at is not None and flag.resolution == "satisfied" and flag.resolved_event_id is not None
    assert invariant_holds(engine)


def test_a_run_during_an_advance_does_not_open_what_the_advance_settles(engine: sa.Engine) -> None:
    """A coordinator's step is flushed but not committed when the run starts."""
    first, second = seed(engine, 2)
    uow = UnitOfWork(engine, write=True).__enter__()
    try:
        episode = repo.get_episode(uow.session, first)
        repo.append_event(uow.session, episode, trigger="record_radiographs", from_state="radiographs_ordered",
                          to_state="radiographs_reported", fields={"result": "negative"}, occurred_on=date(2026, 3, 30),
                          recorded_at=NOW, actor="coordinator", role=None)  # fmt: skip
        uow.session.flush()
        job = start_job(engine)
        if engine.dialect.name == "postgresql":
            result = result_of(job)  # skips the row the coordinator holds
            uow.commit()
        else:
            uow.commit()  # the run waits for the coordinator's write lock
            result = result_of(job)
    finally:
        uow.__exit__(None, None, None)
    assert result["opened"] == 1
    assert flag_state(engine) == [
        (first, "workup_decision", False, False),
        (second, "radiograph_report", True, False),
    ]
    assert invariant_holds(engine)


def test_the_cli_module_runs_as_a_program() -> None:
    """The tests above start the job with `python -m cli`, as cron starts `pathway`."""
    out = subprocess.run([sys.executable, "-m", "cli", "jobs", "--help"], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent)  # fmt: skip
    assert "flag-overdue" in out.stdout
