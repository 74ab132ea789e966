"""How long `rules migrate --all-on` takes for many running episodes, dry run and real.

Prints figures; it asserts nothing. Builds a throwaway SQLite database (or uses --db URL,
which must be an empty, disposable database) with N episodes in conservative care.
Run: python bench/rules_migrate.py [--n 1000] [--db URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pathway.db import migrate  # noqa: E402
from pathway.db.engine import create_engine, resolve_url  # noqa: E402
from pathway.db.uow import UnitOfWork  # noqa: E402
from pathway.domain.rule_file import format_rule_file  # noqa: E402
from pathway.services import Actor  # noqa: E402
from pathway.services.advance import advance  # noqa: E402
from pathway.services.episodes import open_episode  # noqa: E402
from pathway.services.rule_migration import migrate_rules  # noqa: E402
from pathway.services.rule_sets import activate_rule_set, create_rule_set, entries_of  # noqa: E402

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
ACTOR = Actor("bench")
STEPS = (
    ("order_radiographs", {}),
    ("record_radiographs", {"result": "negative"}),
    ("order_mri", {}),
    ("record_mri", {"ifs_mm": "12", "qfs_mm": "8", "qf_edema": "true", "qf_fatty_replacement": "false"}),
    ("confirm_diagnosis", {}),
    ("start_conservative", {}),
    ("inject", {"guidance": "ultrasound", "agent": "corticosteroid_anaesthetic"}),
    ("record_injection_response", {"pain_before": "8", "pain_after": "3", "relief": "temporary"}),
)


def populate(engine, n: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        referred = date(2026, 1, 5) + timedelta(days=i % 60)
        with UnitOfWork(engine, write=True) as uow:  # one connection per episode; each step its own commit
            eid = open_episode(uow, patient_ref=f"BENCH-{i}", side="left", referred_on=referred,
                               has_hip_arthroplasty=False, actor=ACTOR, now=NOW)  # fmt: skip
            for trigger, fields in STEPS:
                advance(uow, episode_id=eid, trigger=trigger, assignments=fields, occurred_on=referred,
                        override_reason=None, actor=ACTOR, now=NOW)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--db", help="an empty, disposable database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    url = args.db or f"sqlite:///{folder.name}/bench.sqlite3"
    engine = create_engine(resolve_url(url)[0])
    migrate.upgrade(engine)
    start = time.perf_counter()
    populate(engine, args.n)
    print(f"episodes in conservative care   {args.n} (built in {time.perf_counter() - start:.1f} s)")
    with UnitOfWork(engine) as uow:
        text = format_rule_file(entries_of(uow.session, 1)).replace("value = 42\n", "value = 84\n")
    with UnitOfWork(engine, write=True) as uow:
        version = create_rule_set(uow, text=text, source="bench", note=None, actor=ACTOR, now=NOW)["version"]
    with UnitOfWork(engine, write=True) as uow:
        activate_rule_set(uow, version=version, actor=ACTOR, now=NOW)
    for dry_run in (True, False):
        start = time.perf_counter()
        with UnitOfWork(engine, write=not dry_run) as uow:
            report = migrate_rules(uow, to_version=version, all_on=1, dry_run=dry_run, actor=ACTOR, now=NOW)
        took = time.perf_counter() - start
        changed = sum(1 for e in report["episodes"] if e["changes"]["guards"])
        label = "dry run" if dry_run else "migration (one transaction)"
        print(f"{label:<31} {took:.2f} s, {took / args.n * 1e3:.2f} ms per episode, {changed} with a changed guard")
    engine.dispose()
    folder.cleanup()


if __name__ == "__main__":
    main()
