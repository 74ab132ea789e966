"""`pathway jobs flag-overdue` killed (SIGKILL) part-way: what it leaves, and that a re-run finishes the work.

The job has two steps (see `pathway.services.overdue`): catching up episodes whose flags
lag behind their events, in committed batches, then opening every due flag in one
transaction. A kill inside a transaction leaves the database as it was; a kill between
two batches leaves the committed batches complete and correct, and the next run ends in
exactly the state one uninterrupted run would have reached.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import sqlalchemy as sa
from freezegun import freeze_time

from bench.trail import fill
from pathway.db.models import EpisodeRow, FlagRow
from pathway.services.overdue import BATCH
from tests.chains import database_problems
from tests.conftest import Pathway, dump
from tests.faults import killed_at, locks_released, run_pathway
from tests.flag_helpers import flag_rows, plus, sweep, walk

D = date(2026, 3, 2)
JOB = ("--json", "jobs", "flag-overdue", "--now")


def _job(url: str, now: str) -> dict[str, int]:
    done = run_pathway(url, *JOB, now)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _flags(engine: sa.Engine) -> list[tuple[Any, ...]]:
    """Every flag row but its id (PostgreSQL spends sequence numbers in rolled-back transactions)."""
    return sorted(tuple(v for k, v in row.items() if k != "id") for row in flag_rows(engine))


def test_killed_before_the_opening_commit(pathway: Pathway, engine: sa.Engine) -> None:
    with freeze_time("2026-03-02 12:00:00"):
        for n, state in enumerate(("radiographs_ordered", "mri_ordered", "conservative_care", "post_operative")):
            walk(pathway, pathway.open(f"MRN-{n}"), state, D)
    with freeze_time("2026-06-05 12:00:00"):
        walk(pathway, pathway.open("MRN-late"), "diagnosed", plus(D, 95))
    assert sweep(pathway, D) == {"opened": 0, "resolved": 0, "open": 0}
    before = dump(engine)
    now = f"{plus(D, 100).isoformat()}T00:30:00"
    killed_at("flag_overdue.before_commit", pathway.url, "jobs", "flag-overdue", "--now", now)
    assert dump(engine) == before
    assert database_problems(engine) == []
    locks_released(engine)
    # Due by day 100: the radiograph and MRI reports, the reassessment (due from day 90),
    # the 42- and 90-day post-operative follow-ups; the work-up decision of day 95 is not.
    assert _job(pathway.url, now) == {"opened": 5, "resolved": 0, "open": 5}
    opened = sorted((f["kind"], f["milestone"]) for f in flag_rows(engine) if f["opened_at"] is not None)
    assert opened == [("mri_report", 0), ("postop_followup", 42), ("postop_followup", 90),
                      ("radiograph_report", 0), ("reassessment", 0)]  # fmt: skip
    assert _job(pathway.url, now) == {"opened": 0, "resolved": 0, "open": 5}, "a second run opens nothing"


def _scheduled(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(EpisodeRow.id).where(EpisodeRow.scheduled_seq == EpisodeRow.event_count)))


def _except(snapshot: dict[str, list[Any]], *tables: str) -> dict[str, list[Any]]:
    return {t: rows for t, rows in snapshot.items() if t not in tables}


def test_killed_while_catching_up_lagging_episodes(engine: sa.Engine, db_url: str) -> None:
    """More than one batch of episodes recorded before flags existed, scheduled by the job, killed at each step."""
    episodes, _ = fill(engine, 22_000, unfinished=0.6)  # real hash chains, many still in care; none scheduled
    assert episodes > BATCH
    now = "2030-01-01T00:30:00"
    before = dump(engine)

    killed_at("flag_overdue.batch_before_commit", db_url, "jobs", "flag-overdue", "--now", now)
    assert dump(engine) == before, "a batch killed before its commit leaves nothing"

    locks_released(engine)
    killed_at("flag_overdue.after_batch", db_url, "jobs", "flag-overdue", "--now", now)
    first_batch = list(range(1, BATCH + 1))
    assert _scheduled(engine) == first_batch, "the first batch is committed, the rest untouched"
    after_one = dump(engine)
    assert _except(after_one, "episodes", "flags") == _except(before, "episodes", "flags")
    batch_flags = flag_rows(engine)
    assert batch_flags and {f["episode_id"] for f in batch_flags} <= set(first_batch)
    assert all(f["opened_at"] is None and f["resolved_at"] is None for f in batch_flags), "nothing opened yet"

    locks_released(engine)
    killed_at("flag_overdue.before_commit", db_url, "jobs", "flag-overdue", "--now", now)
    assert len(_scheduled(engine)) == episodes, "the second batch committed; the opening did not"
    assert all(f["opened_at"] is None for f in flag_rows(engine))

    locks_released(engine)
    finished = _job(db_url, now)
    assert finished["opened"] > 0 and finished["opened"] == finished["open"]
    interrupted = _flags(engine)
    kept = {(f["episode_id"], f["kind"], f["anchor_on"], f["milestone"], f["due_on"], f["overdue_on"])
            for f in batch_flags}  # fmt: skip
    assert kept <= {row[:6] for row in interrupted}, "the first batch's flags were right and are kept, not redone"
    assert _job(db_url, now) == {"opened": 0, "resolved": 0, "open": finished["open"]}

    # The same database scheduled and opened by one uninterrupted run ends the same.
    with engine.begin() as conn:
        conn.execute(sa.delete(FlagRow))
        conn.execute(sa.update(EpisodeRow).values(scheduled_seq=None))
    assert dump(engine) == before
    assert _job(db_url, now) == finished
    assert _flags(engine) == interrupted
    assert database_problems(engine) == []
