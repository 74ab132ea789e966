"""How `pathway jobs flag-overdue` and `pathway worklist` scale, against a hand-written floor.

Builds N synthetic episodes spread over every state (bulk-inserted, as a database from
before flags existed would hold them), lets the job schedule them once, then measures:

- flag-overdue on the full set (everything due gets opened) and again with nothing new,
  each in its own process: seconds inside the job, and the process's peak RSS (VmHWM,
  read by the process itself: a parent's wait4 figure would include the parent's memory
  copied at fork);
- the floor: one hand-written SQL statement that computes, from episodes, events and
  rules, the set of flags PATHWAY.md says are due today. It is run in the same process
  right before each job run, and its result is compared with the flags the job opened;
- the first page of `pathway worklist` (50 rows), as a command and as the query alone.

Prints figures; asserts nothing but the agreement with the floor. Event hashes are
placeholders: this measures flags, not the audit chain.

    python bench/flag_overdue.py                       # SQLite, N = 1,000,000
    python bench/flag_overdue.py --backend postgresql  # PostgreSQL, N = 200,000
    python bench/flag_overdue.py --n 100000            # smaller
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from pathway.db import migrate  # noqa: E402
from pathway.db.engine import create_engine, resolve_url  # noqa: E402
from pathway.db.models import EpisodeRow, EventRow  # noqa: E402

PG_ADMIN = os.environ.get("PATHWAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CHUNK = 5000

# (state, weight): a spread over every state, heavier where episodes spend their time.
STATES = [
    ("referred", 4), ("radiographs_ordered", 6), ("radiographs_reported", 4), ("mri_ordered", 6),
    ("mri_reported", 4), ("diagnosed", 4), ("conservative_care", 22), ("injection_done", 6),
    ("surgical_referral", 5), ("surgery_scheduled", 5), ("post_operative", 10), ("discharged", 14), ("closed", 10),
]  # fmt: skip
MRI = {"ifs_mm": 12.0, "qfs_mm": 8.0, "qf_edema": True, "qf_fatty_replacement": False}
INJECT = {"guidance": "ultrasound", "agent": "corticosteroid_anaesthetic"}
RESPONSE = {"pain_before": 8, "pain_after": 2, "relief": "temporary", "pain_reduction_pct": 75.0}
WORKUP = [
    ("order_radiographs", "referred", "radiographs_ordered", {}),
    ("record_radiographs", "radiographs_ordered", "radiographs_reported", {"result": "negative"}),
    ("order_mri", "radiographs_reported", "mri_ordered", {}),
    ("record_mri", "mri_ordered", "mri_reported", MRI),
    ("confirm_diagnosis", "mri_reported", "diagnosed", {}),
    ("start_conservative", "diagnosed", "conservative_care", {"components": ["nsaids", "physical_therapy"]}),
]
CONSERVATIVE = [
    ("inject", "conservative_care", "injection_done", INJECT),
    ("record_injection_response", "injection_done", "conservative_care", RESPONSE),
    ("reassess", "conservative_care", "conservative_care", {"outcome": "persistent", "pain": 6}),
]


def route(state: str, rng: random.Random) -> list[tuple[str, str, str, dict[str, Any]]]:
    """The triggers that take a new episode to ``state``, with plausible variety."""
    steps: list[tuple[str, str, str, dict[str, Any]]] = []
    order = [s for s, _ in STATES]
    if state == "closed":
        base = route(rng.choice(order[:8]), rng)
        return base + [("close", base[-1][2] if base else "referred", "closed", {"reason": "withdrawn"})]
    if state == "discharged" and rng.random() < 0.5:
        base = route("conservative_care", rng)
        return base + [("discharge", "conservative_care", "discharged", {"outcome": "improved"})]
    target = "post_operative" if state == "discharged" else state
    for trigger, src, dst, fields in WORKUP:
        if src == target:
            return steps
        steps.append((trigger, src, dst, fields))
    if target in ("conservative_care", "injection_done"):
        if target == "conservative_care" and rng.random() < 0.6:
            steps += CONSERVATIVE[: rng.choice((2, 3))]
        if target == "injection_done":
            steps.append(CONSERVATIVE[0])
        return steps
    steps += CONSERVATIVE
    steps.append(("refer_to_surgery", "conservative_care", "surgical_referral", {}))
    if target == "surgical_referral":
        return steps
    steps.append(("schedule_surgery", "surgical_referral", "surgery_scheduled", {"approach": "endoscopic"}))
    if target == "surgery_scheduled":
        return steps
    steps.append(
        (
            "record_surgery",
            "surgery_scheduled",
            "post_operative",
            {"approach": "endoscopic", "sciatic_neurolysis": False},
        )
    )
    if rng.random() < 0.5:
        steps.append(("record_followup", "post_operative", "post_operative", {"pain": 3}))
    if state == "discharged":
        steps.append(("discharge", "post_operative", "discharged", {"outcome": "improved"}))
    return steps


def synthetic(n: int, today: date, seed: int = 7) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Episodes with their events; the last event lands 0-400 days ago, so some flags are due, some not."""
    rng = random.Random(seed)
    states, weights = zip(*STATES, strict=True)
    recorded = datetime.combine(today, datetime.min.time(), UTC)
    for eid in range(1, n + 1):
        state = rng.choices(states, weights)[0]
        steps = route(state, rng)
        gaps = [rng.randint(0, 30) for _ in steps]
        last = today - timedelta(days=rng.randint(0, 400))
        referred = last - timedelta(days=sum(gaps))
        on = referred
        ref = f"SYN-{eid:07d}"
        events = [
            {"episode_id": eid, "seq": 1, "trigger": "open", "from_state": None, "to_state": "referred",
             "fields": {"patient_ref": ref, "side": "left", "referred_on": referred.isoformat(),
                        "has_hip_arthroplasty": False}, "occurred_on": referred}
        ]  # fmt: skip
        entered = referred
        for (trigger, src, dst, fields), gap in zip(steps, gaps, strict=True):
            on = on + timedelta(days=gap)
            if trigger == "schedule_surgery":
                fields = {**fields, "planned_on": (on + timedelta(days=rng.randint(0, 60))).isoformat()}
            if src != dst:
                entered = on
            events.append({"episode_id": eid, "seq": len(events) + 1, "trigger": trigger, "from_state": src,
                           "to_state": dst, "fields": fields, "occurred_on": on})  # fmt: skip
        for event in events:
            event.update(recorded_at=recorded, actor="bench", role=None, rules_version=1, guards=[],
                         override_reason=None, overridden_guards=[], prev_hash="0" * 64,
                         hash=f"{eid:032x}{event['seq']:032x}")  # fmt: skip
        episode = {
            "id": eid, "patient_ref": ref, "side": "left", "referred_on": referred, "has_hip_arthroplasty": False,
            "state": events[-1]["to_state"], "state_entered_on": entered, "last_event_on": on, "rules_version": 1,
            "opened_at": recorded, "opened_by": "bench", "event_count": len(events), "head_hash": events[-1]["hash"],
            "version": len(events), "scheduled_seq": None,
        }  # fmt: skip
        yield episode, events


def build(engine: sa.Engine, n: int, today: date) -> int:
    episodes, events, total = [], [], 0
    with engine.begin() as conn:
        for episode, evs in synthetic(n, today):
            episodes.append(episode)
            events += evs
            if len(episodes) == CHUNK:
                conn.execute(sa.insert(EpisodeRow.__table__), episodes)
                conn.execute(sa.insert(EventRow.__table__), events)
                total += len(events)
                episodes, events = [], []
        if episodes:
            conn.execute(sa.insert(EpisodeRow.__table__), episodes)
            conn.execute(sa.insert(EventRow.__table__), events)
            total += len(events)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return total


def _sql(dialect: str) -> dict[str, str]:
    if dialect == "sqlite":
        return {
            "int": "CAST({} AS INTEGER)",
            "add": "date({0}, '+' || ({1}) || ' days')",
            "milestones": "SELECT r.rule_set_version AS v, CAST(j.value AS INTEGER) AS m "
            "FROM rules r, json_each(r.value) j WHERE r.key = 'postop_followup_days'",
            "planned": "json_extract(x.fields, '$.planned_on')",
        }
    return {
        "int": "({} #>> '{{}}')::int",
        "add": "({0} + ({1}))",
        "milestones": "SELECT rule_set_version AS v, jsonb_array_elements_text(value)::int AS m "
        "FROM rules WHERE key = 'postop_followup_days'",
        "planned": "(x.fields ->> 'planned_on')::date",
    }


def floor_query(dialect: str) -> str:
    """PATHWAY.md's Timers table as one statement over episodes, events and rules."""
    q = _sql(dialect)
    keys = {
        "rr": "radiograph_report_overdue_days", "mr": "mri_report_overdue_days", "wd": "workup_decision_overdue_days",
        "ir": "injection_response_overdue_days", "ro": "reassessment_window_open_days",
        "ss": "surgery_scheduling_overdue_days", "g": "followup_grace_days",
    }  # fmt: skip
    columns = ", ".join(
        f"MAX(CASE WHEN key = {key!r} THEN {q['int'].format('value')} END) AS {name}" for name, key in keys.items()
    )
    add = q["add"].format
    simple = [
        ("radiograph_report", "('radiographs_ordered')", "rr"),
        ("mri_report", "('mri_ordered')", "mr"),
        ("workup_decision", "('radiographs_reported', 'mri_reported', 'diagnosed')", "wd"),
        ("injection_response", "('injection_done')", "ir"),
        ("surgery_scheduling", "('surgical_referral')", "ss"),
    ]
    parts = [
        f"SELECT e.id, '{kind}' AS kind, e.state_entered_on AS anchor, 0 AS milestone FROM episodes e "
        f"JOIN r ON r.v = e.rules_version WHERE e.state IN {states} "
        f"AND {add('e.state_entered_on', 'r.' + rule)} <= :today"
        for kind, states, rule in simple
    ]
    parts.append(
        "SELECT id, 'surgery_record', planned, 0 FROM (SELECT e.id, r.g, "
        f"(SELECT {q['planned']} FROM events x WHERE x.episode_id = e.id AND x.trigger = 'schedule_surgery' "
        "ORDER BY x.seq DESC LIMIT 1) AS planned FROM episodes e JOIN r ON r.v = e.rules_version "
        f"WHERE e.state = 'surgery_scheduled') s WHERE {add('planned', 'g')} <= :today"
    )
    parts.append(
        "SELECT id, 'reassessment', anchor, 0 FROM (SELECT e.id, r.ro, "
        "(SELECT MAX(x.occurred_on) FROM events x WHERE x.episode_id = e.id "
        "AND x.trigger IN ('start_conservative', 'reassess', 'return_to_conservative')) AS anchor "
        "FROM episodes e JOIN r ON r.v = e.rules_version WHERE e.state IN ('conservative_care', 'injection_done')) c "
        f"WHERE {add('anchor', 'ro')} <= :today"
    )
    parts.append(
        "SELECT e.id, 'postop_followup', e.state_entered_on, m.m FROM episodes e "
        "JOIN r ON r.v = e.rules_version JOIN milestones m ON m.v = e.rules_version "
        f"WHERE e.state = 'post_operative' AND {add('e.state_entered_on', 'm.m')} <= :today "
        "AND NOT EXISTS (SELECT 1 FROM events x WHERE x.episode_id = e.id AND x.trigger = 'record_followup' "
        f"AND x.from_state = 'post_operative' AND x.occurred_on >= {add('e.state_entered_on', 'm.m - r.g')} "
        f"AND x.occurred_on <= {add('e.state_entered_on', 'm.m + r.g')})"
    )
    return (
        f"WITH r AS (SELECT rule_set_version AS v, {columns} FROM rules GROUP BY rule_set_version), "
        f"milestones AS ({q['milestones']}) " + " UNION ALL ".join(parts)
    )


def timed_floor(engine: sa.Engine, today: date) -> tuple[float, set[tuple[int, str, str, int]]]:
    with engine.connect() as conn:
        start = time.perf_counter()
        rows = conn.execute(sa.text(floor_query(conn.dialect.name)), {"today": today}).all()
        seconds = time.perf_counter() - start
    return seconds, {(r[0], r[1], str(r[2]), r[3]) for r in rows}


def opened_set(engine: sa.Engine, today: date) -> set[tuple[int, str, str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT episode_id, kind, anchor_on, milestone FROM flags "
                "WHERE opened_at IS NOT NULL AND resolved_at IS NULL AND due_on <= :today"
            ),
            {"today": today},
        ).all()
    return {(r[0], r[1], str(r[2]), r[3]) for r in rows}


def in_child(args: list[str]) -> tuple[dict[str, Any], float]:
    """Run this script (or the CLI) in a child; returns its JSON output (if any) and wall seconds."""
    env = {**os.environ, "PATHWAY_TIMEZONE": "UTC"}
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"child failed: {' '.join(args)}\n{done.stderr.decode()}")
    try:
        return json.loads(done.stdout), wall
    except ValueError:
        return {"lines": len(done.stdout.splitlines())}, wall


def peak_rss_mib() -> float:
    """This process's peak resident set size (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def job(url: str, now: str, *, schedule_only: bool = False) -> None:
    """Child mode: run the job (or only its scheduling step) and print its duration."""
    from pathway.clock import parse_instant
    from pathway.db import flags
    from pathway.db.uow import UnitOfWork
    from pathway.services.overdue import BATCH, flag_overdue

    engine = create_engine(resolve_url(url)[0])
    instant = parse_instant(now)
    start = time.perf_counter()
    if schedule_only:
        after, seen = 0, 0
        while True:
            with UnitOfWork(engine, write=True) as uow:
                ids, _ = flags.schedule_stale(uow.session.connection(), after_id=after, limit=BATCH, now=instant)
                uow.commit()
            seen += len(ids)
            if len(ids) < BATCH:
                break
            after = ids[-1]
        result: dict[str, Any] = {"scheduled": seen}
    else:
        result = flag_overdue(engine, now=instant)
    print(json.dumps({"seconds": time.perf_counter() - start, "result": result, "rss_mib": peak_rss_mib()}))


def first_page(url: str) -> None:
    """Child mode: the worklist's first page as a query, in a warm process."""
    from pathway.db.uow import UnitOfWork
    from pathway.services.worklist import worklist

    engine = create_engine(resolve_url(url)[0])
    today = datetime.now(UTC).date()
    timings = []
    for _ in range(3):
        with UnitOfWork(engine) as uow:
            start = time.perf_counter()
            rows = list(worklist(uow, today=today, limit=50))
            timings.append(time.perf_counter() - start)
    print(json.dumps({"seconds": min(timings), "rows": len(rows)}))


def database(backend: str, keep: bool) -> tuple[str, Any]:
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="pathway-bench-"))
        return f"sqlite:///{folder / 'bench.sqlite3'}", folder
    name = f"pathway_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), (admin, name)


def drop(backend: str, handle: Any) -> None:
    if backend == "sqlite":
        for path in handle.iterdir():
            path.unlink()
        handle.rmdir()
        return
    admin, name = handle
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--n", type=int, help="episodes (default 1,000,000 on SQLite, 200,000 on PostgreSQL)")
    parser.add_argument("--keep", action="store_true", help="keep the database and print its URL")
    parser.add_argument("--job", nargs=2, metavar=("URL", "NOW"), help=argparse.SUPPRESS)
    parser.add_argument("--schedule", nargs=2, metavar=("URL", "NOW"), help=argparse.SUPPRESS)
    parser.add_argument("--first-page", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        return job(*args.job)
    if args.schedule:
        return job(*args.schedule, schedule_only=True)
    if args.first_page:
        return first_page(args.first_page)

    n = args.n or (1_000_000 if args.backend == "sqlite" else 200_000)
    url, handle = database(args.backend, args.keep)
    engine = create_engine(resolve_url(url)[0])
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    me = [sys.executable, str(Path(__file__).resolve())]
    try:
        migrate.upgrade(engine)
        start = time.perf_counter()
        events = build(engine, n, today)
        print(f"{args.backend}, N = {n:,} episodes, {events:,} events (built in {time.perf_counter() - start:.0f} s)")
        with engine.connect() as conn:
            by_state = dict(conn.execute(sa.text("SELECT state, count(*) FROM episodes GROUP BY state")).all())
        print("  by state: " + ", ".join(f"{s} {by_state.get(s, 0):,}" for s, _ in STATES))

        data, wall = in_child([*me, "--schedule", url, now.isoformat()])
        print(
            f"one-off scheduling of pre-existing episodes: {data['seconds']:.1f} s, peak RSS {data['rss_mib']:.0f} MiB"
        )
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()

        print(f"{'run':<14}{'job s':>9}{'floor s':>9}{'ratio':>7}{'RSS MiB':>9}  result")
        for label in ("full set", "nothing new"):
            floor_s, expected = timed_floor(engine, today)
            data, wall = in_child([*me, "--job", url, now.isoformat()])
            seconds, result, rss = data["seconds"], data["result"], data["rss_mib"]
            agree = opened_set(engine, today) == expected
            print(f"{label:<14}{seconds:>9.3f}{floor_s:>9.3f}{seconds / floor_s:>7.2f}{rss:>9.0f}  {result}")
            print(f"{'':<14}process wall {wall:.2f} s; same {len(expected):,} due flags as the floor: {agree}")
            if not agree:
                raise SystemExit("the job's flags differ from the floor's")
        with engine.connect() as conn:
            index_s = time.perf_counter()
            conn.execute(sa.text("SELECT count(*) FROM flags WHERE opened_at IS NULL AND resolved_at IS NULL "
                                 "AND due_on <= :today"), {"today": today}).scalar()  # fmt: skip
            index_s = time.perf_counter() - index_s
        print(f"reading the due-deadline index alone (what 'nothing new' has to read): {index_s * 1000:.1f} ms")

        data, _ = in_child([*me, "--first-page", url])
        wall = min(in_child([*me[:1], "-m", "cli", "--db", url, "worklist", "--limit", "50"])[1] for _ in range(3))
        bare = min(in_child([*me[:1], "-m", "cli", "--version"])[1] for _ in range(3))
        print(
            f"worklist first page (50 rows): query {data['seconds'] * 1000:.1f} ms; `pathway worklist --limit 50` "
            f"{wall:.2f} s wall (best of 3), of which {bare:.2f} s is Python start-up and imports (`pathway --version`)"
        )
        if args.keep:
            print(f"kept: {url}")
    finally:
        engine.dispose()
        if not args.keep:
            drop(args.backend, handle)


if __name__ == "__main__":
    main()
