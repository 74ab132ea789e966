"""A process killed (SIGKILL) in the middle of a command leaves everything as if it had not started."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.chains import database_problems
from tests.conftest import Pathway, dump
from tests.faults import killed_at, run_pathway


def _episode_in_progress(pathway: Pathway) -> int:
    pathway.ok("--as", "root", "db", "upgrade", "--admin", "adm")
    pathway.ok("--as", "adm", "user", "add", "cora", "--role", "coordinator")
    eid = pathway.json("--as", "cora", "episode", "open", "--patient", "MRN-5521", "--side", "right",
                       "--referred-on", "2026-01-05")["id"]  # fmt: skip
    pathway.ok("--as", "cora", "advance", str(eid), "order_radiographs", "--on", "2026-01-06")
    return eid


def test_killed_before_commit_of_advance(pathway: Pathway, engine: sa.Engine) -> None:
    eid = _episode_in_progress(pathway)
    before = dump(engine)
    step = ["advance", str(eid), "record_radiographs", "--on", "2026-01-07", "--set", "result=negative"]
    killed_at("advance.before_commit", pathway.url, *step, user="cora")
    assert dump(engine) == before
    assert database_problems(engine) == []
    # The dead process holds no lock: the same step now succeeds, once, as version 3.
    done = run_pathway(pathway.url, "--json", *step, user="cora")
    assert done.returncode == 0, done.stderr
    assert '"version": 3' in done.stdout
    assert database_problems(engine) == []


def test_killed_while_writing_a_backup(tmp_path: Path) -> None:
    """The copy is complete but not yet named when the process dies: no file, no leftovers."""
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    pathway = Pathway(url)
    _episode_in_progress(pathway)
    out = tmp_path / "out"
    out.mkdir()
    killed_at("backup.before_publish", url, "db", "backup", str(out / "copy.sqlite3"), user="adm")
    assert os.listdir(out) == []
    done = run_pathway(url, "db", "backup", str(out / "copy.sqlite3"), user="adm")
    assert done.returncode == 0, done.stderr
    assert os.listdir(out) == ["copy.sqlite3"]


def test_a_fault_point_does_nothing_unless_named(
    pathway: Pathway, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    eid = _episode_in_progress(pathway)
    monkeypatch.setenv("PATHWAY_FAULT", "some.other_point")
    result = pathway("--as", "cora", "--json", "advance", str(eid), "record_radiographs", "--set", "result=negative")
    assert result.exit_code == 0 and '"version": 3' in result.stdout
    assert database_problems(engine) == []
