"""How much one shared `transitions` Machine saves over building one per decision.

Prints figures; it asserts nothing. Run: python bench/machine.py [--n 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transitions import Machine  # noqa: E402

from pathway.domain.decisions import decide  # noqa: E402
from pathway.domain.machine import definition, pathway_machine  # noqa: E402
from tests.pathway_spec import History  # noqa: E402

FIELDS = {"guidance": "ultrasound", "agent": "corticosteroid_anaesthetic"}


def per_call(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    n = parser.parse_args().n
    snapshot = History().conservative(date(2026, 2, 1)).snapshot()
    on = date(2026, 3, 1)
    pathway_machine()

    build_ms = per_call(lambda: Machine(model=None, **definition()), n)
    decide_ms = per_call(lambda: decide(snapshot, "inject", FIELDS, on, on), n)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    machines = [Machine(model=None, **definition()) for _ in range(100)]
    per_machine_kib = (tracemalloc.get_traced_memory()[0] - before) / 100 / 1024
    tracemalloc.stop()
    del machines

    print(f"decisions measured        {n}")
    print(f"build a Machine           {build_ms:.3f} ms, {per_machine_kib:.0f} KiB each")
    print(f"decide (shared machine)   {decide_ms:.3f} ms per decision, guards included")
    print(f"a fresh machine per call would add {build_ms / decide_ms:.1f}x the whole decision's cost")


if __name__ == "__main__":
    main()
