"""Rights on the commands beyond the clinical steps: jobs, worklist, audit, reports, rules, diagrams."""

from __future__ import annotations

from pathlib import Path

import pytest
from freezegun import freeze_time

from tests.cli.test_access import Site, assert_refused

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():  # type: ignore[no-untyped-def]
    with freeze_time("2026-12-01 10:00:00"):
        yield


def _rule_file(site: Site, tmp_path: Path) -> Path:
    path = tmp_path / "v2.toml"
    assert site.as_("rev", "rules", "export", "1", "--out", str(path)).exit_code == 0
    path.write_text(path.read_text().replace("value = 42", "value = 84"))
    return path


def test_the_scheduled_job_runs_as_the_service_account_only(site: Site) -> None:
    assert site.as_("cron", "jobs", "flag-overdue").exit_code == 0
    assert_refused(site, "cora", ["jobs", "flag-overdue"], "jobs.flag-overdue")
    assert_refused(site, "adm", ["jobs", "flag-overdue"], "jobs.flag-overdue")


@pytest.mark.parametrize(
    "args",
    [
        ["worklist"],
        ["diagram"],
        ["audit", "verify"],
        ["rules", "list"],
        ["rules", "diff", "1", "1"],
        ["rules", "export", "1"],
    ],  # fmt: skip
)
def test_reading_is_open_to_every_known_user_and_no_one_else(site: Site, args: list[str]) -> None:
    for user in ("cora", "dr.kim", "rev", "cron", "adm"):
        assert site.as_(user, *args).exit_code == 0, (user, args)
    action = {"worklist": "worklist", "diagram": "diagram"}.get(args[0], ".".join(args[:2]))
    assert_refused(site, "stranger", args, action)


def test_reviewers_export_pseudonymised_data_only(site: Site, tmp_path: Path) -> None:
    site.episode_before("order_radiographs")
    assert site.as_("rev", "audit", "export", "--format", "jsonl", "--out", str(tmp_path / "p.jsonl")).exit_code == 0
    assert site.as_("rev", "report", "quality", "--format", "json").exit_code == 0
    assert_refused(site, "rev", ["audit", "export", "--format", "csv", "--identified"], "audit.export.identified")
    assert not (tmp_path / "i.csv").exists()
    out = tmp_path / "i.csv"
    assert site.as_("dr.kim", "audit", "export", "--format", "csv", "--identified", "--out", str(out)).exit_code == 0
    assert "MRN-7731" in out.read_text()
    assert_refused(site, "cron", ["report", "quality"], "report.quality")


def test_only_admins_change_the_rules(site: Site, tmp_path: Path) -> None:
    rule_file = _rule_file(site, tmp_path)
    eid = site.episode_before("order_radiographs")  # pinned to v1
    assert_refused(site, "dr.kim", ["rules", "new", "--from", str(rule_file)], "rules.new")
    assert site.as_("adm", "rules", "new", "--from", str(rule_file)).exit_code == 0
    assert_refused(site, "dr.kim", ["rules", "activate", "2"], "rules.activate")
    assert site.as_("adm", "rules", "activate", "2").exit_code == 0
    preview = ["rules", "migrate", "--to", "2", "--episode", str(eid), "--dry-run"]
    assert site.as_("rev", *preview).exit_code == 0
    assert_refused(site, "cora", preview[:-1], "rules.migrate", episode_id=eid)
    assert site.as_("adm", *preview[:-1]).exit_code == 0
    history = site.pathway.json("--as", "rev", "episode", "history", str(eid))
    assert (history[-1]["trigger"], history[-1]["actor"], history[-1]["role"]) == ("migrate_rules", "adm", "admin")


def test_no_such_episode_wins_over_rights(site: Site) -> None:
    result = site.as_("cora", "rules", "migrate", "--to", "1", "--episode", "999")
    assert result.exit_code == 3
    assert site.as_("stranger", "audit", "verify", "--episode", "999").exit_code == 3
