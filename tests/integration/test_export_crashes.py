"""Exports and reports killed (SIGKILL) part-way: the output folder and the database are as before.

Each export is killed while it streams rows (``export.mid_stream``) and once its content
is complete but not yet given its name (``export.before_publish``), in each format. The
folder must then hold exactly what it held before, byte for byte, hidden names included;
an earlier export at the same path is untouched, and the database unchanged but for the
access-log row an identified export writes before it starts.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from pathway.db.models import AccessLogRow
from tests.chains import database_problems
from tests.conftest import Pathway, dump
from tests.faults import killed_at, run_pathway
from tests.flag_helpers import plus, step, walk

D = date(2026, 3, 2)

TARGETS = {"csv": "trail.csv", "jsonl": "trail.jsonl", "fhir": "trail"}


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pseudonym key in the environment, so that no key file is created along the way."""
    monkeypatch.setenv("PATHWAY_PSEUDONYM_KEY", "crash-test-key-" + "k" * 32)


def contents(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder``, hidden ones included: files with their bytes, folders as None."""
    found: dict[str, bytes | None] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            found[os.path.relpath(os.path.join(root, name), folder)] = None
        for name in files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = Path(path).read_bytes()
    return found


def _trail(pathway: Pathway) -> int:
    """Three episodes, one of them in care (its next step makes a later export differ)."""
    with freeze_time("2026-03-02 12:00:00"):
        for n, state in enumerate(("post_operative", "closed")):
            eid = pathway.open(f"MRN-{n}")
            walk(pathway, eid, "conservative_care" if state == "closed" else state, D)
            if state == "closed":
                step(pathway, eid, "close", D, "reason=withdrawn")
        live = pathway.open("MRN-live", "right")
        walk(pathway, live, "mri_ordered", D)
    return live


def _export(fmt: str, target: Path, *extra: str) -> tuple[str, ...]:
    return ("audit", "export", "--format", fmt, "--out", str(target), *extra)


@pytest.mark.parametrize("point", ["export.mid_stream", "export.before_publish"])
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "fhir"])
def test_a_killed_export_leaves_the_earlier_one_untouched(
    pathway: Pathway, engine: sa.Engine, tmp_path: Path, fmt: str, point: str
) -> None:
    live = _trail(pathway)
    folder = tmp_path / "exports"
    folder.mkdir()
    target = folder / TARGETS[fmt]
    pathway.ok(*_export(fmt, target))
    earlier = contents(folder)
    with freeze_time("2026-03-05 12:00:00"):
        step(pathway, live, "record_mri", plus(D, 3), "ifs_mm=12", "qfs_mm=8", "qf_edema=true",
             "qf_fatty_replacement=false")  # fmt: skip
    before = dump(engine)

    killed_at(point, pathway.url, *_export(fmt, target))
    assert contents(folder) == earlier, "no new file, no partial, no hidden leftover; the earlier export intact"
    assert dump(engine) == before
    assert database_problems(engine) == []

    pathway.ok(*_export(fmt, target))
    now = contents(folder)
    assert sorted(now) == sorted(earlier) and now != earlier, "the next run replaces it whole"


@pytest.mark.parametrize("fmt", ["csv", "fhir"])
def test_a_killed_identified_export_leaves_only_its_access_log_row(
    pathway: Pathway, engine: sa.Engine, tmp_path: Path, fmt: str
) -> None:
    """The access-log row is committed before the export starts, on purpose: it must survive the crash."""
    _trail(pathway)
    folder = tmp_path / "exports"
    folder.mkdir()
    before = dump(engine)
    killed_at("export.mid_stream", pathway.url, *_export(fmt, folder / TARGETS[fmt], "--identified"))
    assert contents(folder) == {}
    after = dump(engine)
    assert {t: rows for t, rows in after.items() if not t.startswith("access_log")} == {
        t: rows for t, rows in before.items() if not t.startswith("access_log")
    }
    with engine.connect() as conn:
        (row,) = conn.execute(sa.select(AccessLogRow)).all()
    assert (row.action, row.outcome, row.detail["format"]) == ("audit.export.identified", "granted", fmt)


def test_a_fhir_export_killed_while_swapping_in_keeps_a_whole_export_in_place(
    pathway: Pathway, engine: sa.Engine, tmp_path: Path
) -> None:
    """The one moment that can leave something: the new folder is built under a hidden name.

    The target still holds the earlier export, whole; the finished new folder stays
    hidden beside it, and the next export to that target removes it.
    """
    _trail(pathway)
    folder = tmp_path / "exports"
    folder.mkdir()
    target = folder / "trail"
    pathway.ok(*_export("fhir", target))
    earlier = contents(folder)
    done = killed_at("export.before_swap", pathway.url, *_export("fhir", target))
    now = contents(folder)
    hidden = sorted(name for name in now if "/" not in name and name not in earlier)
    assert len(hidden) == 1 and re.fullmatch(r"\.trail\.partial-\d+-[0-9a-f]{8}", hidden[0]), (hidden, done.stderr)
    assert {k: v for k, v in now.items() if k.split("/")[0] != hidden[0]} == earlier
    pathway.ok(*_export("fhir", target))
    assert sorted(contents(folder)) == sorted(earlier), "the leftover is gone"


def test_a_killed_report_leaves_the_earlier_one_untouched(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> None:
    live = _trail(pathway)
    folder = tmp_path / "reports"
    folder.mkdir()
    target = folder / "quality.json"
    report = ("report", "quality", "--format", "json", "--out", str(target))
    with freeze_time("2026-03-05 12:00:00"):
        pathway.ok(*report)
        earlier = contents(folder)
        step(pathway, live, "record_mri", plus(D, 3), "ifs_mm=12", "qfs_mm=8", "qf_edema=true",
             "qf_fatty_replacement=false")  # fmt: skip
    before = dump(engine)
    killed_at("report.before_publish", pathway.url, *report)
    assert contents(folder) == earlier
    assert dump(engine) == before
    done = run_pathway(pathway.url, *report)
    assert done.returncode == 0, done.stderr
    assert sorted(contents(folder)) == ["quality.json"] and contents(folder) != earlier
