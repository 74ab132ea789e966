"""The schema: migrations match the models, round-trip, and seed rule set 1 as specified."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from pathway.db import migrate
from pathway.db.models import Base
from pathway.db.uow import UnitOfWork
from pathway.services import rules
from tests.conftest import Pathway
from tests.pathway_spec import DEFAULT_RULES


def _drift(engine: sa.Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        return compare_metadata(context, Base.metadata)


def test_the_head_constant_is_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(migrate.alembic_config()).get_current_head() == migrate.head_revision()


def test_models_and_migrations_do_not_drift(engine: sa.Engine) -> None:
    assert _drift(engine) == []


def test_upgrade_downgrade_upgrade(engine: sa.Engine) -> None:
    migrate.downgrade(engine, "base")
    with engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # idempotent
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
    assert _drift(engine) == []


def test_rule_set_1_holds_the_specified_defaults(engine: sa.Engine) -> None:
    with UnitOfWork(engine) as uow:
        shown = rules.show_rules(uow)
    assert shown["version"] == 1 and shown["status"] == "active"
    assert {r["key"]: r["value"] for r in shown["rules"]} == DEFAULT_RULES
    assert all(r["basis"] for r in shown["rules"])
    units = {r["key"]: r["unit"] for r in shown["rules"]}
    assert units["mri_ifs_max_mm"] == "mm" and units["conservative_min_days"] == "days"


ROOT = Path(__file__).resolve().parents[2]


def alembic(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The plain ``alembic`` command line, as a developer runs it from the repository."""
    return subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "-x", f"db={url}", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_alembic_command_downgrades_and_upgrades_like_pathway(db_url: str, engine: sa.Engine) -> None:
    """`alembic downgrade base` on a database with data, then upgrade, then again: both back ends."""
    pathway = Pathway(db_url)
    pathway.open("MRN-1")
    pathway.ok("rules", "new", "--from", str(_rules_file(pathway, ROOT)))  # a second rule set (rule_sets rows)
    done = alembic(db_url, "downgrade", "base")
    assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
    for _ in range(2):
        done = alembic(db_url, "upgrade", "head")
        assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
    assert _drift(engine) == []
    done = alembic(db_url, "current")
    assert done.returncode == 0 and migrate.head_revision() in done.stdout


def _rules_file(pathway: Pathway, root: Path) -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="pathway-rules-"))
    target = folder / "rules.toml"
    pathway.ok("rules", "export", "1", "--out", str(target))
    return target


def test_0008_chains_the_access_log_rows_written_before_it(engine: sa.Engine, pathway: Pathway) -> None:
    migrate.downgrade(engine, "0007")
    with engine.begin() as conn:
        for actor, detail in (("kim", '{"roles": ["reviewer"], "n": 2}'), ("bo", '{"roles": []}')):
            conn.execute(sa.text("INSERT INTO access_log (at, actor, role, action, outcome, episode_id, detail) "
                                 "VALUES (:at, :actor, NULL, 'episode.list', 'refused', 3, :detail)"),
                         {"at": "2026-11-30 08:00:00.250000", "actor": actor, "detail": detail})  # fmt: skip
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT auth, prev_hash, hash FROM access_log ORDER BY id")).all()
    assert [r.auth for r in rows] == ["claimed", "claimed"] and rows[1].prev_hash == rows[0].hash
    report = json.loads(pathway("--json", "audit", "verify").stdout)
    assert (report["intact"], report["problems"]) == (True, [])


def test_0008_writes_the_history_of_the_users_that_exist(engine: sa.Engine, pathway: Pathway) -> None:
    migrate.downgrade(engine, "0007")
    with engine.begin() as conn:
        for name, created, disabled in (("adm", "2026-01-01 08:00:00", None), ("bo", "2026-02-01 08:00:00",
                                                                               "2026-03-01 08:00:00")):  # fmt: skip
            conn.execute(sa.text("INSERT INTO users (name, created_at, created_by, disabled_at, disabled_by) "
                                 "VALUES (:n, :c, 'root', :d, :by)"),
                         {"n": name, "c": created, "d": disabled, "by": "adm" if disabled else None})  # fmt: skip
        for name, role, at in (("adm", "admin", "2026-01-01 08:00:00"), ("bo", "coordinator", "2026-02-01 08:00:00"),
                               ("bo", "reviewer", "2026-02-02 08:00:00")):  # fmt: skip
            conn.execute(sa.text("INSERT INTO user_roles (user_name, role, granted_at, granted_by) "
                                 "VALUES (:n, :r, :at, 'adm')"), {"n": name, "r": role, "at": at})  # fmt: skip
    migrate.upgrade(engine)
    with engine.connect() as conn:
        changes = conn.execute(sa.text("SELECT user_name, change, role FROM user_changes ORDER BY id")).all()
    assert [tuple(c) for c in changes] == [("adm", "added", "admin"), ("bo", "added", "coordinator"),
                                           ("bo", "granted", "reviewer"), ("bo", "disabled", None)]  # fmt: skip
    report = json.loads(pathway("--as", "adm", "--json", "audit", "verify").stdout)
    assert (report["intact"], report["problems"]) == (True, [])
