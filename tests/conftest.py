"""Shared fixtures: a fresh database per test, on SQLite and on real PostgreSQL.

Tests that ask for ``db_url`` (or anything built on it) run once per back end. Each
test session creates its own PostgreSQL database and drops it at the end; each test
starts from a freshly migrated state. Without a PostgreSQL server the PostgreSQL
half is skipped with a visible reason, except under CI (``CI=true``) where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from hypothesis import settings

from cli import cli
from pathway.db import migrate
from pathway.db.engine import create_engine, resolve_url

PG_ADMIN_URL = os.environ.get("PATHWAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Property tests that set no example count of their own: fewer examples under CI (2 cores, many jobs).
settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile("ci", max_examples=15, deadline=None, derandomize=True)
settings.load_profile("ci" if UNDER_CI else "dev")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked postgres_only are not collected for the SQLite back end at all."""
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        sqlite = params is not None and params.params.get("backend") == "sqlite"
        (drop if sqlite and item.get_closest_marker("postgres_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(autouse=True)
def _site_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests run in UTC, as a known user, with their own pseudonym key, never touching the real default database."""
    monkeypatch.setenv("PATHWAY_TIMEZONE", "UTC")
    monkeypatch.setenv("PATHWAY_USER", "tester")
    monkeypatch.delenv("PATHWAY_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("PATHWAY_PSEUDONYM_KEY", raising=False)
    for name in ("PATHWAY_SMTP_URL", "PATHWAY_SMTP_FROM", "PATHWAY_BASE_URL", "PATHWAY_DIGEST_IDENTIFIED"):
        monkeypatch.delenv(name, raising=False)  # the digests' settings come from each test, never the machine
    monkeypatch.setenv("PATHWAY_PSEUDONYM_KEY_FILE", str(tmp_path / "pseudonym.key"))  # the site's key, made on first use


def _postgres_problem() -> str | None:
    engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return None
    except sa.exc.OperationalError as exc:
        return (
            f"PostgreSQL at {engine.url.render_as_string(hide_password=True)} is unreachable: {str(exc.orig).strip()}"
        )
    finally:
        engine.dispose()


class Backend:
    """One database back end for the whole test session, reset before each test."""

    def __init__(self, name: str, tmp: Path) -> None:
        self.name = name
        self.tmp = tmp
        self.admin: sa.Engine | None = None
        if name == "sqlite":
            self.template = tmp / "template.sqlite3"
            self.url = f"sqlite:///{self.template}"
        else:
            self.database = f"pathway_test_{uuid.uuid4().hex[:12]}"
            self.admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{self.database}"'))
            self.url = sa.make_url(PG_ADMIN_URL).set(database=self.database).render_as_string(hide_password=False)
        engine = create_engine(resolve_url(self.url)[0])
        migrate.upgrade(engine)
        if name == "postgresql":
            with engine.connect() as conn:
                self.tables = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
        engine.dispose()

    def fresh(self, path: Path) -> str:
        """A URL to a database in its freshly migrated state."""
        if self.name == "sqlite":
            target = path / "pathway.sqlite3"
            shutil.copyfile(self.template, target)
            os.chmod(target, 0o600)
            return f"sqlite:///{target}"
        engine = sa.create_engine(self.url)
        with engine.begin() as conn:
            # The audit tables refuse TRUNCATE by trigger; the reset sets that aside.
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            data_tables = [t for t in self.tables if t not in ("rule_sets", "rules")]
            conn.execute(sa.text(f"TRUNCATE {', '.join(data_tables)} RESTART IDENTITY CASCADE"))
            conn.execute(sa.text("DELETE FROM rules WHERE rule_set_version > 1"))
            conn.execute(sa.text("DELETE FROM rule_sets WHERE version > 1"))
            conn.execute(sa.text("UPDATE rule_sets SET status = 'active', retired_at = NULL WHERE version = 1"))
        engine.dispose()
        return self.url

    def close(self) -> None:
        if self.admin is not None:
            with self.admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            self.admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    if request.param == "postgresql":
        problem = _postgres_problem()
        if problem:
            if UNDER_CI:
                pytest.fail(f"{problem} (CI=true: PostgreSQL tests must run)", pytrace=False)
            pytest.skip(f"{problem}; set PATHWAY_TEST_POSTGRES_URL or start PostgreSQL to run these tests")
    instance = Backend(request.param, tmp_path_factory.mktemp(request.param))
    yield instance
    instance.close()


@pytest.fixture
def db_url(backend: Backend, tmp_path: Path) -> str:
    return backend.fresh(tmp_path)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(resolve_url(db_url)[0])
    yield engine
    engine.dispose()


def dump(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove that a refused command changed nothing."""
    with engine.connect() as conn:
        tables = sorted(sa.inspect(conn).get_table_names())
        return {t: sorted(map(tuple, conn.execute(sa.text(f'SELECT * FROM "{t}"')).all()), key=repr) for t in tables}


class Pathway:
    """Runs `pathway` commands in-process against one test database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        result = self.runner.invoke(cli, ["--db", self.url, *args], env=env, catch_exceptions=False)
        assert "Traceback" not in result.output
        return result

    def json(self, *args: str) -> Any:
        result = self("--json", *args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, result.output
        return result

    def open(self, patient: str = "MRN-1", side: str = "left", referred_on: str = "2026-01-05", *extra: str) -> int:
        return self.json("episode", "open", "--patient", patient, "--side", side, "--referred-on", referred_on, *extra)[
            "id"
        ]

    def advance(self, episode_id: int, trigger: str, on: str, *sets: str, extra: tuple[str, ...] = ()) -> Result:
        args = ["advance", str(episode_id), trigger, "--on", on, *extra]
        for item in sets:
            args += ["--set", item]
        return self(*args)


@pytest.fixture
def pathway(db_url: str) -> Pathway:
    return Pathway(db_url)
