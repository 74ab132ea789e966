"""Import speed and memory, against the floor of a bare bulk insert of the same event rows.

Builds a CSV file of synthetic episodes (about ten rows each, patients interleaved in
chunks, plausible courses of care from trail.py) and times `pathway import FILE
--override-reason …` in a fresh process on a fresh database (start-up included; the
override reason lets the guideline deviations of the synthetic data in, as a clinic's
historical data would need). The floor, in the same run: the event rows the import
wrote, bulk-inserted with SQLAlchemy Core into another fresh database, one transaction,
only the inserts timed. Prints figures; asserts nothing.

Run: python bench/import.py [--rows 100000 1000000] [--backend sqlite|postgresql] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.trail import _path  # noqa: E402
from pathway.imports.columns import COLUMNS  # noqa: E402

PATHWAY = [sys.executable, "-c", "from cli import main; main()"]
PG_ADMIN = os.environ.get("PATHWAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CHUNK = 1_000  # episodes whose rows are shuffled together: interleaved, as a date-sorted sheet is

FLOOR = """
import sys, time
import sqlalchemy as sa
from pathway.db import migrate
from pathway.db.engine import create_engine, resolve_url
from pathway.db.models import EpisodeRow, EventRow
source = create_engine(resolve_url(sys.argv[1])[0])
target = create_engine(resolve_url(sys.argv[2])[0])
migrate.upgrade(target)
EP, EV = EpisodeRow.__table__, EventRow.__table__
seconds = 0.0
with source.connect() as read, target.begin() as write:
    write.execute(sa.insert(EP), [dict(r._mapping) for r in read.execute(sa.select(EP))])
    rows = read.execution_options(stream_results=True, yield_per=5000).execute(sa.select(EV).order_by(EV.c.id))
    for batch in rows.partitions(5000):
        values = [dict(r._mapping) for r in batch]
        start = time.perf_counter()
        write.execute(sa.insert(EV), values)
        seconds += time.perf_counter() - start
print(seconds)
"""


def build(path: Path, target_rows: int, seed: int = 1) -> tuple[int, int]:
    """Write the CSV file; returns (episodes, rows)."""
    rng = random.Random(seed)
    today = date.today()
    episodes = rows = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        while rows < target_rows:
            chunk: list[dict[str, str]] = []
            for _ in range(CHUNK):
                if rows + len(chunk) >= target_rows:
                    break
                episodes += 1
                chunk += _episode(episodes, rng, today)
            rng.shuffle(chunk)
            out.writerows([row.get(c, "") for c in COLUMNS] for row in chunk)
            rows += len(chunk)
    return episodes, rows


def _episode(n: int, rng: random.Random, today: date) -> list[dict[str, str]]:
    """Ten rows or fewer: the opening and the first steps of one course of care, all before today."""
    on = today - timedelta(days=rng.randint(400, 1500))
    patient = f"MRN-{n:07d}"
    side = "left" if n % 3 else "right"
    rows = [{"patient_ref": patient, "side": side, "trigger": "open", "occurred_on": on.isoformat()}]
    for trigger, days, fields in _path(rng):
        if len(rows) == 10:
            break
        on += timedelta(days=days)
        fields = dict(fields)
        if fields.get("planned_on", "").startswith("+"):
            fields["planned_on"] = (on + timedelta(days=int(fields["planned_on"][1:]))).isoformat()
        rows.append({"patient_ref": patient, "side": side, "trigger": trigger, "occurred_on": on.isoformat(), **fields})
    return rows


def run(argv: list[str], env: dict[str, str]) -> str:
    """The standard output of one child process."""
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:8])}… failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def run_measured(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB, from wait4) and standard output of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv[:8])}… failed with exit {os.waitstatus_to_exitcode(status)}")
    return seconds, usage.ru_maxrss / 1024, out.decode()


class Databases:
    """Fresh databases for one back end (SQLite files, or PostgreSQL databases dropped at the end)."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend, self.folder = backend, folder
        self.made: list[str] = []

    def new(self, name: str) -> str:
        if self.backend == "sqlite":
            path = self.folder / f"{name}.sqlite3"
            for leftover in self.folder.glob(f"{name}.sqlite3*"):
                leftover.unlink()
            from pathway.db import migrate
            from pathway.db.engine import create_engine, resolve_url

            engine = create_engine(resolve_url(f"sqlite:///{path}")[0], create_folder=True)
            migrate.upgrade(engine)  # pathway refuses a missing file: it must be made first
            engine.dispose()
            return f"sqlite:///{path}"
        import sqlalchemy as sa

        database = f"pathway_bench_{name}_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
        admin.dispose()
        self.made.append(database)
        return sa.make_url(PG_ADMIN).set(database=database).render_as_string(hide_password=False)

    def drop(self) -> None:
        if not self.made:
            return
        import sqlalchemy as sa

        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for database in self.made:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--keep", type=Path, help="build the files and databases in this folder and keep them")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, -1],
                        help="judging processes to compare (0: in the importing process; -1: the default)")
    args = parser.parse_args()
    sizes = args.rows or ([100_000, 1_000_000] if args.backend == "sqlite" else [200_000])
    folder = args.keep or Path(tempfile.mkdtemp(prefix="pathway-bench-import-"))
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PATHWAY_TIMEZONE": "UTC", "PYTHONPATH": str(ROOT), "PATHWAY_USER": "bench"}
    databases = Databases(args.backend, folder)
    print(f"back end: {args.backend}")
    print(f"{'rows':>9} {'episodes':>9} {'what':<40} {'seconds':>8} {'rows/s':>9} {'peak RSS':>10} {'vs floor':>8}")
    try:
        for size in sizes:
            path = folder / f"caseload-{size}.csv"
            start = time.perf_counter()
            episodes, rows = build(path, size)
            built = time.perf_counter() - start
            mib = path.stat().st_size / (1 << 20)
            print(f"{rows:>9} {episodes:>9} {f'(file built: {mib:.0f} MiB)':<40} {built:>8.1f}")
            floor = None
            for workers in args.workers:
                url = databases.new(f"import{size}w{max(workers, 0)}")
                command = [*PATHWAY, "--db", url, "import", str(path), "--override-reason", "historical record"]
                child_env = env if workers < 0 else {**env, "PATHWAY_IMPORT_WORKERS": str(workers)}
                seconds, rss, _ = run_measured(command, child_env)
                if floor is None:
                    floor_out = run([sys.executable, "-c", FLOOR, url, databases.new(f"floor{size}")], env)
                    floor = float(floor_out.strip().splitlines()[-1])
                    print(f"{rows:>9} {episodes:>9} {'floor: Core bulk insert of the events':<40} {floor:>8.2f} "
                          f"{rows / floor:>9,.0f} {'':>10} {1:>8.2f}")  # fmt: skip
                label = f"import, {'default workers' if workers < 0 else f'{workers} workers'}"
                print(f"{rows:>9} {episodes:>9} {label:<40} {seconds:>8.2f} "
                      f"{rows / seconds:>9,.0f} {rss:>6.0f} MiB {seconds / floor:>8.2f}")  # fmt: skip
    finally:
        databases.drop()
    if args.keep is None:
        print(f"(files in {folder}; remove it when done)")


if __name__ == "__main__":
    main()
