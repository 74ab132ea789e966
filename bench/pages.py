"""How fast the web pages render in the server, beside a floor measured in the same process.

Builds N synthetic episodes (bench/flag_overdue.py's bulk builder), runs the overdue job
once so the worklist is full, and adds one episode with 200 events through the services.
Then, in one process and with no network between (Starlette's test client, a signed-in
session), it times:

- the worklist's first page (``GET /``, 50 rows, most overdue first);
- the episode page with 200 events (``GET /episodes/{id}``);
- the floor: a bare endpoint in the same app that reads one episode row (one SQL round
  trip, no sign-in, no template).

Target (issue 12): each page under 150 ms. Prints median and p99; asserts nothing.

    python bench/pages.py                         # SQLite, N = 1,000,000
    python bench/pages.py --n 100000              # smaller
    python bench/pages.py --backend postgresql    # PostgreSQL, N = 200,000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PATHWAY_TIMEZONE", "UTC")

import sqlalchemy as sa  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402  (in-process: no network in the figures)

from bench.flag_overdue import build, database, drop  # noqa: E402
from pathway.db import migrate  # noqa: E402
from pathway.db.engine import create_engine, resolve_url  # noqa: E402
from pathway.db.uow import UnitOfWork  # noqa: E402
from pathway.services import Actor, passwords, users  # noqa: E402
from pathway.services.advance import advance  # noqa: E402
from pathway.services.episodes import open_episode  # noqa: E402
from pathway.web.app import create_app  # noqa: E402
from pathway.web.call import Call  # noqa: E402
from pathway.web.routes import ApiRoute  # noqa: E402

PASSWORD = "bench pages password"
ROUNDS = 40
WALK = [
    ("order_radiographs", 1, {}), ("record_radiographs", 3, {"result": "negative"}), ("order_mri", 4, {}),
    ("record_mri", 15, {"ifs_mm": "11", "qfs_mm": "9", "qf_edema": "yes", "qf_fatty_replacement": "no"}),
    ("confirm_diagnosis", 20, {}), ("start_conservative", 27, {"pain": "7"}),
]  # fmt: skip


def long_episode(engine: sa.Engine, now: datetime, events: int) -> int:
    """One episode in conservative care with ``events`` events: the work-up, then amendments."""
    actor = Actor("bench", "clinician")
    referred = now.date() - timedelta(days=400)
    with UnitOfWork(engine, write=True) as uow:
        eid = open_episode(uow, patient_ref="BENCH-LONG", side="right", referred_on=referred,
                           has_hip_arthroplasty=False, actor=actor, now=now)  # fmt: skip
    steps = [(t, referred + timedelta(days=d), f) for t, d, f in WALK]
    while len(steps) + 1 < events:
        flip = "true" if len(steps) % 2 == 0 else "false"  # each amendment changes something
        steps.append(("amend", referred + timedelta(days=28 + len(steps)), {"has_hip_arthroplasty": flip, "reason": "bench"}))
    for trigger, on, fields in steps:
        with UnitOfWork(engine, write=True) as uow:
            advance(uow, episode_id=eid, trigger=trigger, assignments=fields, occurred_on=on.isoformat(),
                    override_reason=None, actor=actor, now=now)  # fmt: skip
    return eid


def floor(call: Call) -> JSONResponse:
    with call.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT id, state FROM episodes WHERE id = 1")).one_or_none()
    return JSONResponse({"id": row[0] if row else None})


def timed(client: TestClient, path: str) -> list[float]:
    client.get(path)  # warm: templates compiled, caches filled
    seconds = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        answer = client.get(path)
        seconds.append(time.perf_counter() - start)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return seconds


def report(name: str, seconds: list[float], base: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p50, p99 = statistics.median(ms), ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    ratio = p50 / (statistics.median(base) * 1000)
    verdict = "under" if p99 < 150 else "OVER"
    print(f"{name:<28} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  ({ratio:5.1f}x floor; p99 {verdict} 150 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--n", type=int, help="episodes (default 1,000,000 on SQLite, 200,000 on PostgreSQL)")
    parser.add_argument("--events", type=int, default=200, help="events on the long episode (default 200)")
    args = parser.parse_args()
    n = args.n or (1_000_000 if args.backend == "sqlite" else 200_000)
    url, handle = database(args.backend, keep=False)
    try:
        engine = create_engine(resolve_url(url)[0], create=True, pooled=True)
        migrate.upgrade(engine)
        now = datetime.now(UTC)
        today: date = now.date()
        start = time.perf_counter()
        build(engine, n, today)
        from pathway.services.overdue import flag_overdue

        flags = flag_overdue(engine, now=now)
        eid = long_episode(engine, now, args.events)
        with UnitOfWork(engine, write=True) as uow:
            admin = Actor("amira")
            users.ensure_admin(uow, name="amira", actor=admin, now=now)
            users.add_user(uow, name="kim", role="coordinator", actor=Actor("amira", "admin"), now=now)
            passwords.set_password(uow, name="kim", password=PASSWORD, actor=Actor("amira", "admin"), now=now)
        print(f"{args.backend}: {n:,} episodes, {flags['open']:,} open flags, built in "
              f"{time.perf_counter() - start:.0f} s; episode {eid} has {args.events} events")  # fmt: skip
        app = create_app(engine, extra=[ApiRoute("GET", "/bench/floor", floor, "floor", signed_in=False)])
        with TestClient(app, base_url="http://127.0.0.1") as client:
            login = client.get("/login")
            token = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            signed = client.post("/login", data={"csrf_token": token, "name": "kim", "password": PASSWORD},
                                 follow_redirects=False)  # fmt: skip
            assert signed.status_code == 303, signed.text[:300]
            base = timed(client, "/bench/floor")
            report("floor (one SQL round trip)", base, base)
            report("worklist, first page", timed(client, "/"), base)
            report(f"episode, {args.events} events", timed(client, f"/episodes/{eid}"), base)
        engine.dispose()
    finally:
        drop(args.backend, handle)


if __name__ == "__main__":
    main()
