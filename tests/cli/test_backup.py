"""Data safety: owner-only database files, consistent online backups that restore and verify."""

from __future__ import annotations

import os
import stat
import subprocess
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from pathway.db.engine import create_engine, resolve_url
from tests.chains import database_problems
from tests.conftest import Pathway, dump
from tests.faults import run_pathway

STEPS = [
    ("order_radiographs", "2026-01-06", []),
    ("record_radiographs", "2026-01-07", ["result=negative"]),
    ("order_mri", "2026-01-08", []),
    ("record_mri", "2026-01-09", ["ifs_mm=11", "qfs_mm=9", "qf_edema=true", "qf_fatty_replacement=false"]),
    ("confirm_diagnosis", "2026-01-10", []),
    ("start_conservative", "2026-01-11", ["pain=6"]),
]


def _populate(pathway: Pathway, episodes: int = 3) -> list[int]:
    ids = []
    for n in range(episodes):
        eid = pathway.open(f"MRN-{n}", "left", "2026-01-05")
        for trigger, on, sets in STEPS[: 2 + 2 * n]:
            assert pathway.advance(eid, trigger, on, *sets).exit_code == 0
        ids.append(eid)
    return ids


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _engine(path: Path) -> sa.Engine:
    return create_engine(resolve_url(f"sqlite:///{path}")[0])


def test_a_new_database_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "site.sqlite3"
        Pathway(f"sqlite:///{path}").ok("db", "upgrade")  # only db upgrade creates a database
        Pathway(f"sqlite:///{path}").open()
        engine = _engine(path)
        with engine.connect() as conn:  # while a writer is connected, WAL and shared-memory files exist
            conn.execute(sa.text("UPDATE rule_sets SET note = note"))
            conn.commit()
            modes = {p.name: _mode(p) for p in tmp_path.iterdir() if p.name.startswith("site.sqlite3")}
        engine.dispose()
        assert modes == {"site.sqlite3": 0o600, "site.sqlite3-wal": 0o600, "site.sqlite3-shm": 0o600}
    finally:
        os.umask(old)


def test_backup_restores_and_every_chain_verifies(tmp_path: Path) -> None:
    live = tmp_path / "live.sqlite3"
    pathway = Pathway(f"sqlite:///{live}")
    pathway.ok("db", "upgrade")
    _populate(pathway)
    copy = tmp_path / "backups" / "copy.sqlite3"
    copy.parent.mkdir()
    result = pathway.json("db", "backup", str(copy))
    assert result["written"] and result["integrity"] == "ok" and result["events"] == 3 + 2 + 4 + 6
    assert _mode(copy) == 0o600 and os.listdir(copy.parent) == ["copy.sqlite3"]
    live_engine, restored = _engine(live), _engine(copy)
    try:
        assert dump(restored) == dump(live_engine)
        assert database_problems(restored) == []
    finally:
        live_engine.dispose()
        restored.dispose()
    # The restored copy is a working database.
    again = Pathway(f"sqlite:///{copy}")
    assert [e["state"] for e in again.json("episode", "list")] == [
        "radiographs_reported",
        "mri_reported",
        "conservative_care",
    ]
    assert again.advance(1, "order_mri", "2026-01-08").exit_code == 0


def test_backup_never_overwrites_unless_forced(tmp_path: Path) -> None:
    pathway = Pathway(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    pathway.ok("db", "upgrade")
    pathway.open()
    target = tmp_path / "copy.sqlite3"
    target.write_text("precious")
    refused = pathway("db", "backup", str(target))
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert target.read_text() == "precious"
    assert pathway("db", "backup", str(tmp_path / "no-such-folder" / "x.sqlite3")).exit_code == 2
    assert pathway("db", "backup", str(tmp_path / "live.sqlite3"), "--force").exit_code == 2
    pathway.ok("db", "backup", str(target), "--force")
    assert target.read_bytes().startswith(b"SQLite format 3\x00") and _mode(target) == 0o600


def test_backup_is_consistent_while_others_write(tmp_path: Path) -> None:
    live = tmp_path / "live.sqlite3"
    url = f"sqlite:///{live}"
    pathway = Pathway(url)
    pathway.ok("db", "upgrade")
    ids = _populate(pathway)
    in_care = ids[2]

    def writer(n: int) -> None:
        for i in range(3):
            done = run_pathway(url, "advance", str(in_care), "record_followup", "--on", "2026-01-11", "--set",
                               f"pain={i}", "--set", f"note=writer {n}")  # fmt: skip
            assert done.returncode == 0, done.stderr

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    copies = []
    for n in range(3):
        copies.append(tmp_path / f"copy{n}.sqlite3")
        pathway.ok("db", "backup", str(copies[-1]))
    for thread in threads:
        thread.join()
    for copy in copies:
        engine = _engine(copy)
        try:
            assert database_problems(engine) == []
        finally:
            engine.dispose()


@pytest.mark.postgres_only
def test_postgresql_backup_runs_pg_dump_and_the_dump_restores(pathway: Pathway, db_url: str, tmp_path: Path) -> None:
    eid = pathway.open("MRN-1")
    pathway.ok("advance", str(eid), "order_radiographs")
    out = tmp_path / "site.dump"
    result = pathway.json("db", "backup", str(out))
    assert result["written"] and result["integrity"] == "ok" and (result["episodes"], result["events"]) == (1, 2)
    assert out.read_bytes().startswith(b"PGDMP") and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert result["bytes"] == out.stat().st_size
    assert pathway("db", "backup", str(out)).exit_code == 2  # exists: --force to replace it
    assert pathway.ok("db", "backup", str(out), "--force")
    restored = f"{sa.make_url(db_url).database}_restored"
    admin = sa.create_engine(sa.make_url(db_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{restored}"'))
        url = sa.make_url(db_url).set(database=restored)
        done = subprocess.run(["pg_restore", "--no-owner", f"--dbname={url.set(drivername='postgresql')}",
                               str(out)], capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert Pathway(url.render_as_string(hide_password=False)).ok("audit", "verify")
        copy = sa.create_engine(url)
        with copy.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one() == 2
        copy.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres_only
def test_without_pg_dump_backup_fails_and_prints_the_command(db_url: str, tmp_path: Path) -> None:
    with_password = db_url.replace("postgres@", "postgres:hunter2@")
    result = Pathway(with_password)("db", "backup", str(tmp_path / "site.dump"), env={"PATH": str(tmp_path)})
    assert result.exit_code == 69, result.output  # a cron job must not believe it has a backup
    assert "pg_dump is not installed" in result.stderr and "no backup was made" in result.stderr
    assert "pg_dump --format=custom" in result.stderr and "--dbname=" in result.stderr
    assert "hunter2" not in result.output
    assert not (tmp_path / "site.dump").exists()


def test_no_patient_reference_in_error_messages_or_the_access_log(pathway: Pathway, engine: sa.Engine) -> None:
    ref = "MRN-SECRET-9913"
    eid = pathway.open(ref, "left", "2026-01-05")
    pathway.ok("--as", "root", "db", "upgrade", "--admin", "adm")
    pathway.ok("--as", "adm", "user", "add", "cora", "--role", "coordinator")
    failures = [
        ["--as", "cora", "episode", "open", "--patient", ref, "--side", "left"],  # already open
        ["--as", "cora", "advance", str(eid), "confirm_diagnosis"],  # rights
        ["--as", "cora", "advance", str(eid), "order_mri"],  # guard
        ["--as", "cora", "advance", str(eid), "close", "--set", "reason=alternative_diagnosis"],  # input
        ["--as", "stranger", "episode", "list", "--patient", ref],  # unknown user
        ["--as", "adm", "episode", "open", "--patient", ref, "--side", "right"],  # admin takes no clinical step
    ]
    for args in failures:
        result = pathway("--json", *args)
        assert result.exit_code != 0, args
        assert ref not in result.output, args
    with engine.connect() as conn:
        log = conn.execute(sa.text("SELECT * FROM access_log")).all()
        actions = conn.execute(sa.text("SELECT action FROM access_log ORDER BY id")).scalars().all()
    assert actions[:2] == ["user.add", "user.add"] and len(actions) == 5 and ref not in repr(log)
