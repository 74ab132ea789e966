"""The rest of the CLI contract: db, rules, list/show shapes, global options, help, demo."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from freezegun import freeze_time

from cli import cli
from pathway.db.migrate import head_revision
from tests.conftest import Pathway
from tests.pathway_spec import DEFAULT_RULES


def test_db_upgrade_is_idempotent_and_info_hides_the_password(pathway: Pathway) -> None:
    assert pathway.ok("db", "upgrade").exit_code == 0
    assert pathway.json("db", "upgrade")["revision"] == head_revision()
    info = pathway.json("db", "info")
    assert info["revision"] == info["head"] == head_revision() and info["up_to_date"]
    assert info["counts"] == {"episodes": 0, "events": 0, "rule_sets": 1}
    pathway.open()
    assert pathway.json("db", "info")["episodes_by_state"] == {"referred": 1}
    assert "schema revision" in pathway.ok("db", "info").stdout


@pytest.mark.postgres_only
def test_info_never_prints_a_password(db_url: str) -> None:
    with_password = db_url.replace("postgres@", "postgres:hunter2@")
    result = Pathway(with_password)("db", "info")
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output and "***" in result.output


def test_rules_show(pathway: Pathway) -> None:
    shown = pathway.json("rules", "show")
    assert shown["version"] == 1
    assert {r["key"]: r["value"] for r in shown["rules"]} == DEFAULT_RULES
    assert pathway.json("rules", "show", "--version", "1") == shown
    text = pathway.ok("rules", "show").stdout
    assert "conservative_min_days" in text and "90 days" in text and "Singer" in text
    missing = pathway("rules", "show", "--version", "7")
    assert missing.exit_code == 3 and "no rule set version 7" in missing.stderr


@freeze_time("2026-03-01 12:00:00")
def test_list_filters_and_shapes(pathway: Pathway) -> None:
    a = pathway.open("MRN-A", "left", "2026-01-05")
    b = pathway.open("MRN-B", "right", "2026-01-06", "--arthroplasty")
    pathway.advance(b, "order_radiographs", "2026-01-07")
    assert [e["id"] for e in pathway.json("episode", "list")] == [a, b]
    assert [e["id"] for e in pathway.json("episode", "list", "--state", "radiographs_ordered")] == [b]
    assert [e["id"] for e in pathway.json("episode", "list", "--patient", "MRN-A")] == [a]
    assert pathway.json("episode", "list", "--limit", "1")[0]["id"] == a
    shown = pathway.json("episode", "show", str(b))
    assert shown["has_hip_arthroplasty"] is True and shown["version"] == 2
    bad = pathway("episode", "list", "--state", "limbo")
    assert bad.exit_code == 2 and "no state 'limbo'" in bad.stderr


def test_global_options_work_before_or_after_the_command(pathway: Pathway) -> None:
    runner = CliRunner()
    first = runner.invoke(
        cli, ["--db", pathway.url, "--as", "amira", "--json", "episode", "open", "--patient", "P1", "--side", "left"]
    )
    second = runner.invoke(
        cli, ["episode", "open", "--patient", "P2", "--side", "left", "--db", pathway.url, "--as", "bo", "--json"]
    )
    assert json.loads(first.stdout)["id"] == 1 and json.loads(second.stdout)["id"] == 2
    assert pathway.json("episode", "show", "1")["opened_by"] == "amira"
    assert pathway.json("episode", "show", "2")["opened_by"] == "bo"
    env = CliRunner().invoke(cli, ["episode", "list", "--json"], env={"PATHWAY_DATABASE_URL": pathway.url})
    assert [e["id"] for e in json.loads(env.stdout)] == [1, 2]


def test_the_site_time_zone_decides_what_today_is(pathway: Pathway) -> None:
    eid = pathway.open("MRN-TZ", "left", "2026-01-05")
    with freeze_time("2026-03-01 20:00:00"):  # already 2 March in Auckland
        late = pathway("advance", str(eid), "order_radiographs", "--json", env={"PATHWAY_TIMEZONE": "Pacific/Auckland"})
        assert json.loads(late.stdout)["event"]["occurred_on"] == "2026-03-02"
        bad = pathway("next", str(eid), env={"PATHWAY_TIMEZONE": "Mars/Olympus"})
        assert bad.exit_code == 2 and "not a known time zone" in bad.stderr


def test_default_database_is_created_owner_only_on_first_use(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--json", "episode", "open", "--patient", "P1", "--side", "right"])
    assert result.exit_code == 0, result.output
    files = list((tmp_path / "xdg-data").rglob("pathway.sqlite3"))
    assert len(files) == 1
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600


def _leaf_commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)  # imports a lazily registered command
        assert command is not None, name
        if isinstance(command, click.Group):
            found += _leaf_commands(command, f"{prefix}{name} ")
        found.append((f"{prefix}{name}", command))
    return found


@pytest.mark.parametrize(("name", "command"), _leaf_commands(cli))
def test_every_command_has_help(name: str, command: click.Command) -> None:
    assert command.help and len(command.help.strip()) > 10, name
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts[0]} has no help"
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0


def test_demo_walks_the_pathway_and_shows_a_refusal() -> None:
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    assert "refer_to_surgery is refused" in result.output
    assert "(exit code 1)" in result.output
    assert "post_operative -> discharged" in result.output
    assert "Opened 1 flag(s)" in result.output and "radiograph_report" in result.output
    assert "event 17 already records record_followup" in result.output  # a likely duplicate, refused
    assert "event 17 corrected by event 19" in result.output and "corrected by 19" in result.output
    assert "Intact: 2 episodes" in result.output
    assert "Traceback" not in result.output


def test_installed_entry_point_runs_without_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("pathway")
    env = {**os.environ, "PATHWAY_DATABASE_URL": f"sqlite:///{tmp_path}/e.db"}
    assert subprocess.run([str(exe), "db", "upgrade"], capture_output=True, env=env).returncode == 0
    done = subprocess.run([str(exe), "--json", "episode", "show", "5"], capture_output=True, text=True, env=env)
    assert done.returncode == 3
    assert "no episode 5" in done.stderr and "Traceback" not in done.stderr
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "pathway" in version.stdout


def test_a_mistyped_database_path_is_exit_2_not_a_new_empty_database(tmp_path: Path) -> None:
    runner = CliRunner()
    real = tmp_path / "clinic.sqlite3"
    assert runner.invoke(cli, ["--db", str(real), "db", "upgrade"]).exit_code == 0  # db upgrade may create it
    assert runner.invoke(cli, ["--db", str(real), "episode", "list"]).exit_code == 0
    for args in (["episode", "list"], ["--json", "worklist"], ["db", "info"], ["audit", "verify"]):
        for typo in (str(tmp_path / "clinic.sqlite"), f"sqlite:///{tmp_path / 'clinc.sqlite3'}"):
            result = runner.invoke(cli, ["--db", typo, *args])
            assert result.exit_code == 2, (args, result.output)
            assert f"There is no database at {tmp_path}" in result.stderr and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clinic.sqlite3"] + sorted(
        p.name for p in tmp_path.iterdir() if p.name.startswith("clinic.sqlite3-")
    )  # nothing was created beside the real database


def test_the_default_database_is_created_on_first_use(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--json", "episode", "list"])  # XDG_DATA_HOME is the test's folder
    assert result.exit_code == 0, result.output
    assert (tmp_path / "xdg-data" / "pathway" / "pathway.sqlite3").is_file()
