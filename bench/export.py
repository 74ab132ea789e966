"""Export throughput and memory on SQLite, against the floor of a bare sqlite3 + csv loop.

Builds synthetic trails (see trail.py) of 100k and 1M events, then times, each in a
fresh process: the floor (the same SELECT written with csv.writer and nothing else),
`pathway audit export` as CSV and as JSON Lines (pseudonymised, the default, and
identified), `pathway audit verify`, and `pathway report quality`. Prints figures;
it asserts nothing. Run: python bench/export.py [--sizes 100000 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUILD = """
import sys, time
from bench.trail import fill
from pathway.db import migrate
from pathway.db.engine import create_engine, resolve_url
from pathway.exports.records import _SELECT
engine = create_engine(resolve_url(sys.argv[1])[0])
migrate.upgrade(engine)
start = time.perf_counter()
episodes, events = fill(engine, int(sys.argv[2]))
print(episodes, events, time.perf_counter() - start)
print(_SELECT.replace(chr(10), " "))
"""

FLOOR = """
import csv, sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
with open(sys.argv[2], "w", newline="") as f:
    csv.writer(f).writerows(conn.execute(sys.argv[3]))
"""
PATHWAY = [sys.executable, "-c", "from cli import main; main()"]


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0 and not (argv[-1] == "verify" and os.waitstatus_to_exitcode(status) == 1):
        raise SystemExit(f"{' '.join(argv[:6])}… failed: {child.stderr.read().decode() if child.stderr else ''}")
    return seconds, usage.ru_maxrss / 1024


def build(folder: Path, events: int, env: dict[str, str]) -> tuple[Path, int, int, float, str]:
    """Built in a child process, so that this one stays small: a child's peak RSS
    counts the memory it was forked with."""
    path = folder / f"trail-{events}.sqlite3"
    path.unlink(missing_ok=True)
    done = subprocess.run([sys.executable, "-c", BUILD, str(path), str(events)], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True)  # fmt: skip
    figures, query = done.stdout.splitlines()[:2]
    episodes, made, took = figures.split()
    return path, int(episodes), int(made), float(took), query


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--keep", type=Path, help="build the databases in this folder and keep them")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="pathway-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PATHWAY_PSEUDONYM_KEY": "b" * 64, "PATHWAY_TIMEZONE": "UTC", "PYTHONPATH": str(ROOT)}
    print(f"{'events':>9} {'what':<34} {'seconds':>8} {'events/s':>10} {'peak RSS':>10} {'vs floor':>8}")
    for size in args.sizes:
        db, episodes, events, took, select = build(folder, size, env)
        print(f"{events:>9} {f'(built {episodes} episodes)':<34} {took:>8.1f}")
        out = folder / "out"
        query = select + " ORDER BY e.episode_id, e.seq"
        floor, rss = run([sys.executable, "-c", FLOOR, str(db), str(out), query], env)
        label = "floor: sqlite3 + csv.writer"
        print(f"{events:>9} {label:<34} {floor:>8.2f} {events / floor:>10,.0f} {rss:>7.0f} MiB {1:>8.2f}")
        cases = [
            ("csv, pseudonymised", ["audit", "export", "--format", "csv", "--out", str(out)]),
            ("jsonl, pseudonymised", ["audit", "export", "--format", "jsonl", "--out", str(out)]),
            ("csv, identified", ["audit", "export", "--format", "csv", "--identified", "--out", str(out)]),
            ("jsonl, identified", ["audit", "export", "--format", "jsonl", "--identified", "--out", str(out)]),
            ("fhir, pseudonymised", ["audit", "export", "--format", "fhir", "--out", str(folder / "fhir")]),
            ("audit verify", ["audit", "verify"]),
            ("report quality (json)", ["report", "quality", "--format", "json"]),
        ]
        for label, command in cases:
            seconds, rss = run([*PATHWAY, "--db", str(db), *command], env)
            ratio = f"{seconds / floor:>8.2f}" if "export" in command else ""
            print(f"{events:>9} {label:<34} {seconds:>8.2f} {events / seconds:>10,.0f} {rss:>7.0f} MiB {ratio}")
    if args.keep is None:
        print(f"(databases in {folder}; remove it when done)")


if __name__ == "__main__":
    main()
