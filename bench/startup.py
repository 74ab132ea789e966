"""Start-up: whole `pathway` processes beside the bare import of what any database command needs.

The floor, measured in the same run, is `python -c "import sqlalchemy, sqlalchemy.orm,
click, transitions"`. Every figure is the median wall time of whole processes, with
the bytecode cache as users have it (PYTHONDONTWRITEBYTECODE unset; one warm-up run
first). Targets: `pathway --help` below 0.5x the floor; `pathway next ID` and
`pathway advance` at most 1.3x. Prints figures; asserts nothing.
Run: python bench/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATHWAY = [sys.executable, "-c", "import sys; sys.argv[0] = 'pathway'; from cli import main; main()"]


def timed(command: list[str], env: dict[str, str], runs: int) -> float:
    """Median ms of ``runs`` processes; ``{n}`` in an argument becomes the run's number
    (a step repeated word for word would be refused as a likely duplicate)."""

    def run(n: int) -> None:
        subprocess.run([a.replace("{n}", str(n)) for a in command], env=env, cwd=ROOT, capture_output=True,
                       check=True)  # fmt: skip

    run(0)  # warm the bytecode cache
    times = []
    for n in range(1, runs + 1):
        start = time.perf_counter()
        run(n)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as folder:
        env |= {"PATHWAY_DATABASE_URL": f"sqlite:///{folder}/start.sqlite3", "PATHWAY_TIMEZONE": "UTC",
                "PYTHONPATH": str(ROOT)}  # fmt: skip
        subprocess.run([*PATHWAY, "db", "upgrade"], env=env, cwd=ROOT, capture_output=True, check=True)
        subprocess.run([*PATHWAY, "episode", "open", "--patient", "S-1", "--side", "left", "--referred-on",
                        "2026-01-05"], env=env, cwd=ROOT, capture_output=True, check=True)  # fmt: skip
        walk = (["order_radiographs"], ["record_radiographs", "--set", "result=negative"], ["order_mri"],
                ["record_mri", "--set", "ifs_mm=11", "--set", "qfs_mm=9", "--set", "qf_edema=true", "--set",
                 "qf_fatty_replacement=false"], ["confirm_diagnosis"], ["start_conservative"])  # fmt: skip
        for step in walk:
            subprocess.run([*PATHWAY, "advance", "1", *step, "--on", "2026-01-06"], env=env, cwd=ROOT, check=True,
                           capture_output=True)  # fmt: skip
        floor = timed([sys.executable, "-c", "import sqlalchemy, sqlalchemy.orm, click, transitions"], env, runs)
        figures = {
            "pathway --help": timed([*PATHWAY, "--help"], env, runs),
            "pathway next 1": timed([*PATHWAY, "next", "1"], env, runs),
            "pathway advance 1 ...": timed([*PATHWAY, "advance", "1", "record_followup", "--on", "2026-01-06",
                                            "--set", "pain=3", "--set", "note=visit {n}"], env, runs),  # fmt: skip
        }
    print(f"floor: python -c 'import sqlalchemy, sqlalchemy.orm, click, transitions': {floor:.0f} ms "
          f"(median of {runs} processes, bytecode cache on)")  # fmt: skip
    targets = {"pathway --help": 0.5, "pathway next 1": 1.3, "pathway advance 1 ...": 1.3}
    for name, ms in figures.items():
        print(f"{name:<26} {ms:6.0f} ms  {ms / floor:.2f}x the floor (target: {'below' if targets[name] < 1 else 'at most'}"
              f" {targets[name]}x)")  # fmt: skip


if __name__ == "__main__":
    main()
