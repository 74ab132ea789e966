"""`pathway serve --demo`: a throwaway clinic with patients in every state and a sign-in for each role."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from cli import cli
from pathway.db import migrate
from pathway.db.engine import create_engine
from pathway.db.uow import UnitOfWork
from pathway.domain.states import STATES
from pathway.services.demo_site import USERS, populate
from pathway.services.sign_in import Policy, sign_in

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_the_demo_has_patients_in_every_state_some_overdue_and_every_role_can_sign_in(tmp_path: Path) -> None:
    engine = create_engine(sa.make_url(f"sqlite:///{tmp_path / 'demo.sqlite3'}"), create=True)
    migrate.upgrade(engine)
    site = populate(engine, now=NOW)
    with engine.connect() as conn:
        states = {row[0] for row in conn.execute(sa.text("SELECT DISTINCT state FROM episodes"))}
        overdue = conn.execute(sa.text("SELECT count(*) FROM flags WHERE opened_at IS NOT NULL "
                                       "AND resolved_at IS NULL")).scalar_one()  # fmt: skip
        roles = dict(conn.execute(sa.text("SELECT user_name, role FROM user_roles")).all())
    signed = []
    for name in USERS.values():
        with UnitOfWork(engine, write=True) as uow:
            signed.append(sign_in(uow, name=name, password=site.password, now=NOW, policy=Policy()).name)
    engine.dispose()
    assert states == set(STATES) and overdue >= 10 and site.episodes == 40
    assert roles == {name: role for role, name in USERS.items()} and signed == list(USERS.values())
    assert len(site.password) >= 12


def test_the_demo_refuses_a_database_of_the_users_own(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "mine.sqlite3"), "serve", "--demo"])
    assert result.exit_code == 2 and "throwaway database of its own" in result.output
    assert not (tmp_path / "mine.sqlite3").exists()
