"""Eight real `pathway` processes writing at once, on SQLite (WAL) and PostgreSQL.

Each worker runs its commands one after another while the others do the same: four
walk their own episodes and all record follow-ups on one shared episode, while the
other four also race with --expect-version on one episode and to close another.
Without --expect-version nobody is refused for being second (the episode row is locked
before judging, so writers queue): every follow-up on the shared episode is saved, and
the closes after the first are judged on the closed episode (exit 2). Afterwards every
command that reported success has exactly its event, every command refused with exit 4
(only with --expect-version) left nothing, every chain verifies, each episode's version
equals its event count and each state is the one its log leads to.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from pathway.db import repository as repo
from pathway.db.models import EventRow
from pathway.db.uow import UnitOfWork
from tests.chains import database_problems
from tests.conftest import Pathway

WORKERS = 8
EXE = Path(sys.executable).with_name("pathway")
IN_CARE = [
    ("order_radiographs", ["--on", "2026-01-06"]),
    ("record_radiographs", ["--on", "2026-01-07", "--set", "result=negative"]),
    ("order_mri", ["--on", "2026-01-08"]),
    ("record_mri", ["--on", "2026-01-09", "--set", "ifs_mm=11", "--set", "qfs_mm=9", "--set", "qf_edema=true",
                    "--set", "qf_fatty_replacement=false"]),
    ("confirm_diagnosis", ["--on", "2026-01-10"]),
    ("start_conservative", ["--on", "2026-01-11"]),
]  # fmt: skip
OWN_WALK = IN_CARE[:3]


@dataclass
class Run:
    worker: int
    kind: str  # own | shared | race | close
    episode: int
    args: list[str]
    code: int = -1
    stderr: str = ""
    tag: str = ""
    expect: int | None = None


def _run(url: str, user: str, run: Run) -> Run:
    env = {**os.environ, "PATHWAY_DATABASE_URL": url, "PATHWAY_USER": user, "PATHWAY_TIMEZONE": "UTC"}
    done = subprocess.run([str(EXE), *run.args], capture_output=True, text=True, env=env, timeout=180)
    run.code, run.stderr = done.returncode, done.stderr
    return run


def _worker(url: str, engine: sa.Engine, worker: int, own: int, shared: int, race: int, closing: int) -> list[Run]:
    """One worker's commands, in order; workers 0-3 walk their own episode, 4-7 race on shared ones."""
    runs: list[Run] = []

    def followup(kind: str, episode: int, n: int, expect: int | None = None) -> Run:
        tag = f"w{worker}-{kind}-{n}"
        args = ["advance", str(episode), "record_followup", "--on", "2026-01-11", "--set", "pain=3",
                "--set", f"note={tag}"]  # fmt: skip
        return Run(worker, kind, episode, args, tag=tag, expect=expect)

    user = f"coord{worker}"
    if worker < 4:
        for n, (trigger, extra) in enumerate(OWN_WALK):
            runs.append(_run(url, user, Run(worker, "own", own, ["advance", str(own), trigger, *extra])))
            if n == 1:
                runs.append(_run(url, user, followup("shared", shared, n)))
        return runs
    runs.append(_run(url, user, followup("shared", shared, 0)))
    with UnitOfWork(engine) as uow:
        version = repo.get_episode(uow.session, race).version
    run = followup("race", race, 0, expect=version)
    run.args += ["--expect-version", str(version)]
    runs.append(_run(url, user, run))
    close = ["advance", str(closing), "close", "--set", "reason=withdrawn", "--on", "2026-01-12"]
    runs.append(_run(url, user, Run(worker, "close", closing, close)))
    return runs


def _setup(pathway: Pathway) -> tuple[list[int], int, int, int]:
    pathway.ok("--as", "root", "db", "upgrade", "--admin", "adm")
    for worker in range(WORKERS):
        pathway.ok("--as", "adm", "user", "add", f"coord{worker}", "--role", "coordinator")
    pathway.ok("--as", "adm", "user", "add", "coord0", "--role", "clinician")  # confirms the diagnoses below
    ids = []
    for n in range(WORKERS + 3):
        eid = pathway.json("--as", "coord0", "episode", "open", "--patient", f"P-{n}", "--side", "left",
                           "--referred-on", "2026-01-05")["id"]  # fmt: skip
        ids.append(eid)
    for eid in ids[WORKERS:]:
        for trigger, extra in IN_CARE:
            pathway.ok("--as", "coord0", "advance", str(eid), trigger, *extra)
    shared, race, closing = ids[WORKERS:]
    return ids[:WORKERS], shared, race, closing


def _events_tagged(engine: sa.Engine) -> dict[str, list[int]]:
    """The sequence numbers of the follow-up events, by the note that tags them."""
    found: dict[str, list[int]] = {}
    with UnitOfWork(engine) as uow:
        for event in uow.session.scalars(sa.select(EventRow)):
            if "note" in event.fields:
                found.setdefault(event.fields["note"], []).append(event.seq)
    return found


def test_eight_concurrent_writers_lose_nothing(pathway: Pathway, engine: sa.Engine) -> None:
    own, shared, race, closing = _setup(pathway)
    with UnitOfWork(engine) as uow:
        events_before = uow.session.scalar(sa.select(sa.func.count()).select_from(EventRow))
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(_worker, pathway.url, engine, w, own[w], shared, race, closing) for w in range(WORKERS)]
        runs = [run for future in futures for run in future.result()]

    assert not [r for r in runs if "Traceback" in r.stderr]
    tagged = _events_tagged(engine)
    for run in runs:
        if run.kind == "own":  # nobody else writes this episode
            assert run.code == 0, (run.args, run.stderr)
        elif run.kind == "shared":  # no --expect-version: writers queue, none is refused for being second
            assert run.code == 0, (run.args, run.code, run.stderr)
            assert len(tagged.get(run.tag, [])) == 1, run.tag
        elif run.kind == "race":
            assert run.code in (0, 4), (run.args, run.code, run.stderr)
            assert len(tagged.get(run.tag, [])) == (1 if run.code == 0 else 0), run.tag
            if run.code == 0 and run.expect is not None:
                assert tagged[run.tag] == [run.expect + 1]
            if run.code == 4:
                assert "nothing was saved" in run.stderr or "someone changed it" in run.stderr
    closes = [r for r in runs if r.kind == "close"]
    assert [r.code for r in closes].count(0) == 1
    assert all(r.code == 0 or (r.code == 2 and "final" in r.stderr) for r in closes), [r.stderr for r in closes]
    assert not [r for r in runs if r.code == 4 and "--expect-version" not in r.args]

    succeeded = sum(1 for r in runs if r.code == 0)
    with UnitOfWork(engine) as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(EventRow)) == events_before + succeeded
        assert repo.get_episode(uow.session, closing).state == "closed"
        for eid in own[:4]:
            assert repo.get_episode(uow.session, eid).state == "mri_ordered"
        events = uow.session.scalars(sa.select(EventRow).where(EventRow.episode_id == shared)).all()
        assert {e.role for e in events if e.trigger == "record_followup"} == {"coordinator"}
    assert database_problems(engine) == []
