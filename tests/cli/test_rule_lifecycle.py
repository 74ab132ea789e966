"""Rule sets through the CLI: new, diff, activate, export (round trip), migrate with audit events."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from pathway.db import repository as repo
from pathway.db.uow import UnitOfWork
from tests.chains import episode_problems
from tests.conftest import Pathway, dump

EXAMPLE = Path(__file__).parents[2] / "examples" / "rules-v2.toml"


def rule_file(pathway: Pathway, tmp_path: Path, name: str = "site.toml", **values: str) -> Path:
    """Rule set 1 exported, with some values replaced (TOML text), as a file."""
    text = pathway.ok("rules", "export", "1").stdout
    for key, value in values.items():
        head, _, rest = text.partition(f"[{key}]\nvalue = ")
        old_value, _, tail = rest.partition("\n")
        assert head and old_value, key
        text = f"{head}[{key}]\nvalue = {value}\n{tail}"
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def new_version(pathway: Pathway, path: Path, *extra: str) -> int:
    return pathway.json("rules", "new", "--from", str(path), *extra)["version"]


def test_export_new_export_is_byte_for_byte_the_same(pathway: Pathway, tmp_path: Path) -> None:
    first = pathway.ok("rules", "export", "1").stdout
    out = tmp_path / "v1.toml"
    assert pathway.ok("rules", "export", "1", "--out", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8") == first
    v2 = new_version(pathway, out, "--note", "copy of v1")
    assert pathway.ok("rules", "export", str(v2)).stdout == first
    v3 = new_version(pathway, EXAMPLE)
    exported = tmp_path / "v3.toml"
    pathway.ok("rules", "export", str(v3), "--out", str(exported))
    v4 = new_version(pathway, exported)
    assert pathway.ok("rules", "export", str(v4)).stdout.encode() == exported.read_bytes()


def test_a_new_rule_set_is_a_draft_with_its_author_note_and_diff(pathway: Pathway, tmp_path: Path) -> None:
    with freeze_time("2026-05-01 09:00:00"):
        created = pathway.json("--as", "dr.lead", "rules", "new", "--from", str(EXAMPLE), "--note", "12-week interval")
    assert created["version"] == 2 and created["status"] == "draft"
    assert created["created_by"] == "dr.lead" and created["note"] == "12-week interval"
    assert created["created_at"].startswith("2026-05-01T09:00:00") and created["activated_at"] is None
    changes = {c["key"]: c for c in created["diff_from_active"]["changes"]}
    assert set(changes) == {"injection_min_interval_days", "injection_guidance_allowed"}
    interval = changes["injection_min_interval_days"]
    assert interval["old"]["value"] == 42 and interval["new"]["value"] == 84 and interval["new"]["unit"] == "days"
    assert pathway.json("rules", "show")["version"] == 1  # still the active one
    text = pathway.ok("rules", "new", "--from", str(EXAMPLE)).stdout
    assert "Created draft rule set v3" in text and "42 days" in text and "84 days" in text
    assert "pathway rules activate 3" in text


def test_an_invalid_file_lists_every_problem_and_changes_nothing(pathway: Pathway, engine: sa.Engine,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    bad = rule_file(pathway, tmp_path, conservative_min_days="1000", mri_ifs_max_mm='"narrow"',
                    reassessment_window_close_days="60")  # fmt: skip
    bad.write_text(bad.read_text().replace('unit = "mm"', 'unit = "cm"', 1) + "\n[colour]\nvalue = 1\n")
    before = dump(engine)
    result = pathway("--json", "rules", "new", "--from", str(bad))
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert "site.toml is not a valid rule set (5 problems); nothing was saved" in error["message"]
    reasons = " | ".join(error["reasons"])
    for expected in (
        "unknown rule 'colour'",
        "conservative_min_days: 1000 days is outside the plausible range 0-730 days",
        "mri_ifs_max_mm: value must be a number (mm), not 'narrow'",
        'mri_ifs_max_mm: unit is "cm" but this rule is in mm',
        "the reassessment window would close before it opens",
    ):
        assert expected in reasons
    assert "(5) " in result.stderr
    assert dump(engine) == before
    broken = tmp_path / "broken.toml"
    broken.write_text("[conservative_min_days\n")
    syntax = pathway("rules", "new", "--from", str(broken))
    assert syntax.exit_code == 2 and "broken.toml is not valid TOML" in syntax.stderr
    missing = pathway("rules", "new", "--from", str(tmp_path / "nope.toml"))
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert dump(engine) == before


def test_diff_shows_added_changed_values_with_units(pathway: Pathway, tmp_path: Path) -> None:
    v2 = new_version(pathway, rule_file(pathway, tmp_path, mri_ifs_max_mm="13", conservative_min_days="120"))
    data = pathway.json("rules", "diff", "1", str(v2))
    assert data["from_version"] == 1 and data["to_version"] == v2
    assert [
        (c["key"], c["change"], c["old"]["value"], c["new"]["value"], c["new"]["unit"]) for c in data["changes"]
    ] == [
        ("conservative_min_days", "changed", 90, 120, "days"),
        ("mri_ifs_max_mm", "changed", 15, 13, "mm"),
    ]
    text = pathway.ok("rules", "diff", "1", str(v2)).stdout
    assert "15 mm" in text and "13 mm" in text and "90 days" in text and "120 days" in text
    assert "no differences" in pathway.ok("rules", "diff", "1", "1").stdout
    assert pathway("rules", "diff", "1", "9").exit_code == 3


def test_activation_retires_the_active_set_and_new_episodes_use_it(pathway: Pathway, tmp_path: Path) -> None:
    before = pathway.open("MRN-OLD")
    v2 = new_version(pathway, EXAMPLE)
    with freeze_time("2026-06-01 08:30:00"):
        active = pathway.json("--as", "dr.lead", "rules", "activate", str(v2))
    assert active["status"] == "active" and active["retired_version"] == 1
    assert active["activated_by"] == "dr.lead" and active["activated_at"].startswith("2026-06-01T08:30:00")
    listed = {r["version"]: r for r in pathway.json("rules", "list")}
    assert listed[1]["status"] == "retired" and listed[1]["retired_at"].startswith("2026-06-01T08:30:00")
    assert listed[1]["activated_by"] == listed[1]["created_by"]
    assert pathway.json("rules", "show")["version"] == v2
    after = pathway.open("MRN-NEW")
    assert pathway.json("episode", "show", str(after))["rules_version"] == v2
    assert pathway.json("episode", "show", str(before))["rules_version"] == 1
    again = pathway("rules", "activate", str(v2))
    assert again.exit_code == 2 and "already active" in again.stderr
    retired = pathway("rules", "activate", "1")
    assert retired.exit_code == 2 and "retired" in retired.stderr and "rules export 1" in retired.stderr
    assert pathway("rules", "activate", "42").exit_code == 3


def _walk_to_conservative(pathway: Pathway, patient: str, started: str) -> int:
    eid = pathway.open(patient, "left", "2026-01-05")
    for step in (
        ("order_radiographs",),
        ("record_radiographs", "result=negative"),
        ("order_mri",),
        ("record_mri", "ifs_mm=14", "qfs_mm=12", "qf_edema=true", "qf_fatty_replacement=false"),
        ("confirm_diagnosis",),
        ("start_conservative",),
    ):
        assert pathway.advance(eid, step[0], started, *step[1:]).exit_code == 0
    return eid


def _chain_is_intact(engine: sa.Engine, episode_id: int) -> bool:
    with UnitOfWork(engine) as uow:
        return episode_problems(uow, repo.get_episode(uow.session, episode_id)) == []


@freeze_time("2026-04-15 12:00:00")
def test_dry_run_shows_each_episodes_consequences_and_writes_nothing(pathway: Pathway, engine: sa.Engine,
                                                                     tmp_path: Path) -> None:  # fmt: skip
    early = _walk_to_conservative(pathway, "MRN-A", "2026-03-01")  # 45 days of conservative care
    mri = pathway.open("MRN-B", "right", "2026-01-05")
    for step in (
        ("order_radiographs",),
        ("record_radiographs", "result=negative"),
        ("order_mri",),
        ("record_mri", "ifs_mm=14", "qfs_mm=12", "qf_edema=true", "qf_fatty_replacement=false"),
    ):
        pathway.advance(mri, step[0], "2026-02-01", *step[1:])  # fmt: skip
    path = rule_file(pathway, tmp_path, reassessment_window_open_days="42", conservative_min_days="120",
                     mri_ifs_max_mm="13")  # fmt: skip
    draft = new_version(pathway, path)
    before = dump(engine)
    report = pathway.json("rules", "migrate", "--to", str(draft), "--all-on", "1", "--dry-run")
    assert dump(engine) == before
    assert report["dry_run"] is True and report["to_version"] == draft and report["as_of"] == "2026-04-15"
    assert {c["key"] for c in report["rule_changes"]["1"]} == {
        "reassessment_window_open_days", "conservative_min_days", "mri_ifs_max_mm"}  # fmt: skip
    episodes = {e["id"]: e for e in report["episodes"]}
    assert set(episodes) == {early, mri} and episodes[early]["from_version"] == 1
    guards = {(c["trigger"], c["guard"]): c for c in episodes[early]["changes"]["guards"]}
    reassess = guards[("reassess", "reassessment_window_open_days")]
    assert reassess["before"] == {
        "passed": False,
        "allowed_from": "2026-05-30",
        "message": reassess["before"]["message"],
    }
    assert reassess["after"]["passed"] is True and reassess["summary"].startswith("now passes")
    surgery = guards[("refer_to_surgery", "conservative_min_days")]
    assert (surgery["before"]["allowed_from"], surgery["after"]["allowed_from"]) == ("2026-05-30", "2026-06-29")
    assert "later" in surgery["summary"]
    diagnosis = episodes[mri]["changes"]["guards"]
    assert [(c["trigger"], c["guard"], c["before"]["passed"], c["after"]["passed"]) for c in diagnosis] == [
        ("confirm_diagnosis", "mri_supports_ifi", True, False)
    ]
    assert "now refused" in diagnosis[0]["summary"] and "IFS 14 mm (> 13)" in diagnosis[0]["summary"]
    text = pathway.ok("rules", "migrate", "--to", str(draft), "--all-on", "1", "--dry-run").stdout
    assert "Would move 2 episode(s)" in text and "reassess / reassessment_window_open_days: now passes" in text
    assert dump(engine) == before


@freeze_time("2026-04-15 12:00:00")
def test_migration_writes_one_audited_event_per_episode(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> None:
    first = _walk_to_conservative(pathway, "MRN-A", "2026-03-01")
    second = _walk_to_conservative(pathway, "MRN-B", "2026-03-02")
    closed = pathway.open("MRN-C")
    pathway.advance(closed, "close", "2026-01-06", "reason=withdrawn")
    draft = new_version(pathway, rule_file(pathway, tmp_path, reassessment_window_open_days="42"))
    before = dump(engine)
    refused = pathway("rules", "migrate", "--to", str(draft), "--all-on", "1")
    assert refused.exit_code == 2 and "is a draft; activate it first" in refused.stderr
    assert dump(engine) == before
    pathway.ok("rules", "activate", str(draft))
    moved = pathway.json("--as", "dr.lead", "rules", "migrate", "--to", str(draft), "--all-on", "1")
    assert moved["dry_run"] is False and [e["id"] for e in moved["episodes"]] == [first, second]
    for eid in (first, second):
        shown = pathway.json("episode", "show", str(eid))
        assert shown["rules_version"] == draft
        last = pathway.json("episode", "history", str(eid))[-1]
        assert last["trigger"] == "migrate_rules" and last["from_state"] == last["to_state"] == "conservative_care"
        assert last["fields"] == {"from_version": 1, "to_version": draft}
        assert last["rules_version"] == draft and last["actor"] == "dr.lead" and last["occurred_on"] == "2026-04-15"
        assert shown["version"] == last["seq"]
        assert _chain_is_intact(engine, eid)
    assert pathway.json("episode", "show", str(closed))["rules_version"] == 1  # closed episodes stay as they were
    # The move is not a clinical step: the next trigger may still be dated before it, and judged by the new rules.
    assert pathway.advance(first, "reassess", "2026-04-13", "outcome=persistent", "pain=6").exit_code == 0
    nothing = pathway.json("rules", "migrate", "--to", str(draft), "--all-on", "1")
    assert nothing["episodes"] == []


def test_migration_refuses_what_cannot_be_moved(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> None:
    eid = pathway.open("MRN-A")
    done = pathway.open("MRN-B")
    pathway.advance(done, "close", "2026-01-06", "reason=withdrawn")
    v2 = new_version(pathway, EXAMPLE)
    pathway.ok("rules", "activate", str(v2))
    before = dump(engine)
    for args, code, message in (
        (("--to", str(v2)), 2, "--episode ID, or --all-on M"),
        (("--to", str(v2), "--episode", str(eid), "--all-on", "1"), 2, "--episode ID, or --all-on M"),
        (("--to", "9", "--episode", str(eid)), 3, "no rule set version 9"),
        (("--to", str(v2), "--episode", "99"), 3, "no episode 99"),
        (("--to", str(v2), "--all-on", "9"), 3, "no rule set version 9"),
        (("--to", str(v2), "--episode", str(done)), 2, "final"),
        (("--to", "1", "--episode", str(eid)), 2, "already on rule set v1"),
        (("--to", "1", "--all-on", "1"), 2, "nothing to do"),
    ):
        result = pathway("rules", "migrate", *args)
        assert result.exit_code == code, (args, result.output)
        assert message in result.stderr
    assert dump(engine) == before
    one = pathway.json("rules", "migrate", "--to", str(v2), "--episode", str(eid))
    assert [e["id"] for e in one["episodes"]] == [eid] and one["episodes"][0]["event_seq"] == 2
    back = pathway.json("rules", "migrate", "--to", "1", "--episode", str(eid))  # back to a retired version
    assert back["episodes"][0]["from_version"] == v2


def test_the_move_is_not_a_trigger_anyone_can_fire(pathway: Pathway) -> None:
    eid = pathway.open()
    offered = [t["trigger"] for t in pathway.json("next", str(eid))["triggers"]]
    assert "migrate_rules" not in offered
    result = pathway("advance", str(eid), "migrate_rules", "--set", "to_version=1")
    assert result.exit_code == 2 and "no trigger 'migrate_rules'" in result.stderr


@pytest.mark.postgres_only
def test_an_activation_that_loses_a_race_changes_nothing(pathway: Pathway, engine: sa.Engine) -> None:
    first, second = new_version(pathway, EXAMPLE), new_version(pathway, EXAMPLE)
    results: list[int] = []
    with engine.connect() as rival:  # another activation of `first`, still uncommitted
        rival.execute(sa.text("UPDATE rule_sets SET status = 'retired' WHERE status = 'active'"))
        rival.execute(sa.text(f"UPDATE rule_sets SET status = 'active' WHERE version = {first}"))
        thread = threading.Thread(target=lambda: results.append(pathway("rules", "activate", str(second)).exit_code))
        thread.start()
        with engine.connect() as watcher:  # wait until our activation is blocked behind the rival's lock
            blocked = sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                              "AND wait_event_type = 'Lock'")
            while not watcher.execute(blocked).scalar() and thread.is_alive():
                watcher.rollback()
        rival.commit()
        thread.join()
    assert results == [4]
    statuses = {r["version"]: r["status"] for r in pathway.json("rules", "list")}
    assert statuses == {1: "retired", first: "active", second: "draft"}
