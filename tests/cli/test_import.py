"""`pathway import`: CSV files, every row judged as `advance` judges it, all or nothing."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from pathway.db.engine import create_engine, resolve_url
from pathway.db.models import EventRow
from tests.cli.test_access import Site
from tests.conftest import Backend, Pathway, dump
from tests.imports import A_LEFT, CASELOAD, FINAL_STATES, NOW, csv_bytes, interleaved, many_episodes, r, write_csv

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():  # type: ignore[no-untyped-def]
    with freeze_time(NOW):
        yield


def run(pathway: Pathway, *args: str) -> Any:
    return pathway("import", *args)


def states(pathway: Pathway) -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for e in pathway.json("episode", "list"):
        found.setdefault((e["patient_ref"], e["side"]), []).append(e["state"])
    return found


def episode_of(pathway: Pathway, patient: str, side: str) -> dict[str, Any]:
    return next(e for e in pathway.json("episode", "list") if (e["patient_ref"], e["side"]) == (patient, side))


@pytest.mark.parametrize(("delimiter", "bom", "decimal_comma"), [(",", False, False), (";", True, True)])
def test_a_caseload_imports_with_every_column_type(
    pathway: Pathway, tmp_path: Path, delimiter: str, bom: bool, decimal_comma: bool
) -> None:
    path = write_csv(tmp_path / "caseload.csv", interleaved(CASELOAD), delimiter=delimiter, bom=bom,
                     decimal_comma=decimal_comma)  # fmt: skip
    result = run(pathway, str(path))
    assert result.exit_code == 0, result.output
    assert "opened 5 episodes with 25 events" in result.stdout
    assert states(pathway) == FINAL_STATES
    a = episode_of(pathway, "MRN-A", "left")
    assert (a["referred_on"], a["state_entered_on"], a["last_event_on"], a["event_count"]) == (
        "2026-01-05", "2026-12-01", "2026-12-01", 16,
    )  # fmt: skip
    history = pathway.json("episode", "history", str(a["id"]))
    by_trigger = {e["trigger"]: e for e in reversed(history)}  # the first of each
    assert [e["trigger"] for e in history] == [row["trigger"] for row in A_LEFT]
    assert [e["occurred_on"] for e in history] == [row["occurred_on"] for row in A_LEFT]
    assert by_trigger["record_mri"]["fields"] == {
        "ifs_mm": 12.5, "qfs_mm": 8, "qf_edema": True, "qf_fatty_replacement": False,
        "positioning": "neutral, feet together",
    }  # fmt: skip
    assert by_trigger["start_conservative"]["fields"] == {"components": ["nsaids", "physical_therapy"], "pain": 7,
                                                          "mhhs": 55.5}  # fmt: skip
    assert by_trigger["record_injection_response"]["fields"]["pain_reduction_pct"] == 75.0
    assert by_trigger["schedule_surgery"]["fields"]["planned_on"] == "2026-06-01"
    assert by_trigger["record_surgery"]["fields"] == {"approach": "open", "sciatic_neurolysis": True}
    assert by_trigger["record_followup"]["fields"] == {"pain": 6, "note": "phoned; walking 2 km"}
    assert all(v["passed"] for e in history for v in e["guards"])
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert {(e["source"], e["source_sha256"]) for e in history} == {("import", sha)}
    lines = path.read_bytes().decode("utf-8-sig").split("\r\n")
    for event in history:  # each event names its file row (the header is row 1)
        row = lines[event["source_row"] - 1].split(delimiter)
        assert (row[2], row[3] or None) == (event["trigger"], event["occurred_on"] if row[3] else None)
    b = episode_of(pathway, "MRN-B", "right")
    assert (b["referred_on"], b["has_hip_arthroplasty"]) == ("2026-02-01", True)
    assert episode_of(pathway, "MRN-A", "right")["has_hip_arthroplasty"] is True
    assert pathway("audit", "verify").exit_code == 0


def test_the_worklist_is_right_at_once(pathway: Pathway, tmp_path: Path) -> None:
    run(pathway, str(write_csv(tmp_path / "c.csv", CASELOAD)))
    c2 = next(e for e in pathway.json("episode", "list") if e["state"] == "radiographs_ordered")
    expected = [(c2["id"], "radiograph_report", "2026-11-16", "overdue")]
    flags = pathway.json("worklist")
    assert [(f["episode_id"], f["kind"], f["overdue_on"], f["status"]) for f in flags] == expected
    pathway.ok("jobs", "flag-overdue")  # the job finds the flag already scheduled, and opens it
    flags = pathway.json("worklist")
    assert [(f["episode_id"], f["kind"], f["overdue_on"], f["status"]) for f in flags] == expected
    assert flags[0]["opened_at"] is not None


def test_a_refused_row_in_the_middle_of_a_large_file_changes_nothing(
    pathway: Pathway, engine: sa.Engine, tmp_path: Path
) -> None:
    rows = many_episodes(300)
    middle = len(rows) // 2
    patient = rows[middle]["patient_ref"]
    rows.insert(middle, r(patient, "left", "refer_to_surgery", "2026-12-01"))
    path = write_csv(tmp_path / "big.csv", rows)
    before = dump(engine)
    result = run(pathway, str(path))
    assert result.exit_code == 1, result.output
    position = list(dict.fromkeys(row["patient_ref"] for row in rows)).index(patient) + 1
    assert f"row {middle + 2} (patient {position}): refer_to_surgery refused: " in result.stderr
    assert "no reassessment is recorded" in result.stderr and "Nothing was imported: 1 of 3001 rows" in result.stderr
    assert "MRN" not in result.output
    assert dump(engine) == before


def test_every_problem_is_reported_at_once(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> None:
    rows = [
        r("MRN-1", "left", "open", "2026-01-05"),
        r("MRN-1", "left", "order_mri", "2026-01-06"),  # refused: no radiographs; judged on as if overridden
        r("MRN-1", "left", "record_mri", "2026-01-07", ifs_mm="0", qfs_mm="9", qf_edema="true",
          qf_fatty_replacement="false"),  # invalid: ifs_mm must be > 0
        r("MRN-1", "left", "confirm_diagnosis", "2026-01-08"),  # not checked: follows the invalid row
        r("MRN-2", "right", "open", "2026-01-05"),
        r("MRN-2", "right", "inject", "2026-01-06", guidance="ultrasound", agent="corticosteroid_anaesthetic",
          pain="3"),  # invalid: not possible from referred; pain is not a field of inject
        r("MRN-3", "left", "order_radiographs", "2026-01-06"),  # no open row, no open episode
        r("MRN-4", "left", "open", "2027-03-02"),  # after today
        r("MRN-5", "left", "open", "2026-01-05"),
        r("MRN-5", "left", "open", "2026-01-07"),  # a second open row without episode_key
        r("MRN-6", "middle", "open", "2026-01-05"),
    ]  # fmt: skip
    before = dump(engine)
    result = pathway("--json", "import", str(write_csv(tmp_path / "bad.csv", rows)))
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    assert report["imported"] is False and report["error"]["exit_code"] == 2
    found = {p["row"]: (p["patient"], p["trigger"], p["kind"]) for p in report["refused"]}
    assert found == {
        3: (1, "order_mri", "refused"), 4: (1, "record_mri", "invalid"), 5: (1, "confirm_diagnosis", "not_checked"),
        7: (2, "inject", "invalid"), 8: (3, "order_radiographs", "invalid"), 9: (4, "open", "invalid"),
        11: (5, "open", "invalid"), 12: (None, "open", "invalid"),
    }  # fmt: skip
    reasons = {p["row"]: " ".join(p["reasons"]) for p in report["refused"]}
    assert "no radiograph report" in reasons[3] and "ifs_mm" in reasons[4] and "row 4" in reasons[5]
    assert "not possible from state referred" in reasons[7]
    assert "no open episode" in reasons[8] and "after today" in reasons[9] and "episode_key" in reasons[11]
    assert "side must be left or right" in reasons[12]
    assert "MRN" not in result.output
    assert dump(engine) == before


def test_a_field_of_another_trigger_is_named(pathway: Pathway, tmp_path: Path) -> None:
    rows = [r("MRN-1", "left", "open", "2026-01-05"), r("MRN-1", "left", "order_radiographs", "2026-01-06", pain="4")]
    result = run(pathway, str(write_csv(tmp_path / "f.csv", rows)))
    assert result.exit_code == 2
    assert "row 3 (patient 1): order_radiographs invalid: order_radiographs has no field 'pain'" in result.stderr


def test_an_unknown_trigger_is_named(pathway: Pathway, tmp_path: Path) -> None:
    rows = [r("MRN-1", "left", "open", "2026-01-05"), r("MRN-1", "left", "x_ray", "2026-01-06")]
    result = run(pathway, str(write_csv(tmp_path / "t.csv", rows)))
    assert result.exit_code == 2
    assert "row 3 (patient 1): x_ray invalid: There is no trigger 'x_ray'" in result.stderr


def test_the_dry_run_reports_what_a_real_run_does_and_changes_nothing(
    pathway: Pathway, engine: sa.Engine, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "c.csv", CASELOAD)
    before = dump(engine)
    dry = pathway("--json", "import", str(path), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dump(engine) == before
    real = pathway.json("import", str(path))
    dry_report = json.loads(dry.stdout)
    assert dry_report["dry_run"] is True and dry_report["imported"] is False and real["imported"] is True
    assert {k: v for k, v in dry_report.items() if k not in ("dry_run", "imported")} == {
        k: v for k, v in real.items() if k not in ("dry_run", "imported")
    }
    assert real["events_by_trigger"]["open"] == 5 and real["events"] == 25 and real["flags_due"] == 1
    human = run(pathway, str(write_csv(tmp_path / "d.csv", [r("MRN-9", "left", "open", "2026-01-05")])), "--dry-run")
    assert human.exit_code == 0 and "Dry run: nothing was changed. The import would open 1 episode" in human.stdout


def test_a_second_import_of_the_same_file_is_refused(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", CASELOAD)
    assert run(pathway, str(path)).exit_code == 0
    before = dump(engine)
    again = pathway("--json", "import", str(path))
    assert again.exit_code == 1
    assert "already imported: 25 events in 5 episodes, recorded at 2027-03-01T10:00:00+00:00 by tester" in again.stderr
    assert json.loads(again.stdout)["error"]["exit_code"] == 1
    assert dump(engine) == before
    copy = tmp_path / "renamed.csv"
    copy.write_bytes(path.read_bytes())
    assert run(pathway, str(copy)).exit_code == 1  # the same content under another name
    assert run(pathway, str(path), "--dry-run").exit_code == 1


def test_rows_may_continue_an_episode_open_in_the_database(pathway: Pathway, tmp_path: Path) -> None:
    eid = pathway.open("MRN-A", "left", "2026-01-05")
    pathway.advance(eid, "order_radiographs", "2026-01-06")
    rows = [row for row in A_LEFT if row["trigger"] not in ("open", "order_radiographs")]
    report = pathway.json("import", str(write_csv(tmp_path / "c.csv", rows)))
    assert (report["episodes_opened"], report["episodes_continued"], report["events"]) == (0, 1, 14)
    shown = pathway.json("episode", "show", str(eid))
    assert (shown["state"], shown["event_count"]) == ("discharged", 16)
    assert pathway("audit", "verify").exit_code == 0
    again = [r("MRN-A", "left", "open", "2026-12-02")]
    second = pathway.json("import", str(write_csv(tmp_path / "n.csv", again)))  # the earlier one is discharged
    assert second["episodes_opened"] == 1


def test_an_amend_row_moves_the_episode_row_as_advance_does(pathway: Pathway, tmp_path: Path) -> None:
    eid = pathway.open("MRN-C", "left", "2026-01-05")
    rows = [
        r("MRN-C", "left", "amend", "2026-01-07", referred_on="2026-01-04", reason="referral letter dated the 4th"),
        r("MRN-D", "right", "open", "2026-02-01"),
        r("MRN-D", "right", "amend", "2026-02-03", referred_on="2026-01-30", has_hip_arthroplasty="true",
          reason="GP letter"),
    ]  # fmt: skip
    report = pathway.json("import", str(write_csv(tmp_path / "a.csv", rows)))
    assert (report["episodes_opened"], report["episodes_continued"]) == (1, 1)
    continued = pathway.json("episode", "show", str(eid))
    opened = episode_of(pathway, "MRN-D", "right")
    assert continued["referred_on"] == "2026-01-04"
    assert (opened["referred_on"], opened["has_hip_arthroplasty"]) == ("2026-01-30", True)
    verified = pathway("audit", "verify")
    assert verified.exit_code == 0, verified.output


def test_one_open_course_of_care_per_patient_and_side(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> None:
    eid = pathway.open("MRN-A", "left", "2026-01-05")
    before = dump(engine)
    opening_again = [r("MRN-A", "left", "open", "2026-02-01")]
    result = run(pathway, str(write_csv(tmp_path / "a.csv", opening_again)))
    assert result.exit_code == 2
    assert f"already has an open episode on the left side (episode {eid})" in result.stderr
    two_open = [
        {**r("MRN-Z", "left", "open", "2026-01-05"), "episode_key": "a"},
        {**r("MRN-Z", "left", "open", "2026-02-05"), "episode_key": "b"},
    ]
    result = run(pathway, str(write_csv(tmp_path / "b.csv", two_open)))
    assert result.exit_code == 2
    assert "row 2 (patient 1): open invalid: another episode of this patient on the left side (opened on row 3)" in (
        result.stderr
    )
    assert dump(engine) == before
    historical = [r("MRN-A", "left", "open", "2025-01-05"), r("MRN-A", "left", "close", "2025-02-01",
                                                             reason="withdrawn")]  # fmt: skip
    report = pathway.json("import", str(write_csv(tmp_path / "c.csv", historical)))
    assert report["episodes_opened"] == 1  # a closed earlier course of care beside the open one


def test_override_reason_records_deviations_and_needs_a_clinician(site: Site, tmp_path: Path) -> None:
    rows = [r("MRN-1", "left", "open", "2026-01-05"), r("MRN-1", "left", "order_mri", "2026-01-06")]
    path = write_csv(tmp_path / "o.csv", rows)
    assert site.as_("cora", "import", str(path)).exit_code == 1  # refused by the rules
    denied = site.as_("cora", "import", str(path), "--override-reason", "MRI done elsewhere")
    assert denied.exit_code == 5 and "may not override a pathway rule" in denied.stderr
    done = site.as_("dr.kim", "--json", "import", str(path), "--override-reason", "MRI done elsewhere")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["overrides"] == 1
    (episode,) = json.loads(site.as_("dr.kim", "--json", "episode", "list").stdout)  # ids: PostgreSQL's sequence
    history = json.loads(site.as_("dr.kim", "--json", "episode", "history", str(episode["id"])).stdout)
    assert [(e["role"], e["override_reason"], e["overridden_guards"]) for e in history] == [
        ("clinician", None, []), ("clinician", "MRI done elsewhere", ["radiographs_first"]),
    ]  # fmt: skip


def test_rights_are_checked_per_trigger_and_before_the_file(site: Site, tmp_path: Path) -> None:
    rows = [row for row in A_LEFT[:7]]
    path = write_csv(tmp_path / "c.csv", rows)
    denied = site.as_("cora", "import", str(path))
    assert denied.exit_code == 5 and "may not fire confirm_diagnosis" in denied.stderr
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\x01binary")
    reviewer = site.as_("rev", "import", str(junk))
    assert reviewer.exit_code == 5 and "run `pathway import`" in reviewer.stderr
    assert [e["action"] for e in site.log()[-2:]] == ["import", "import"]
    coordinator_rows = write_csv(tmp_path / "co.csv", A_LEFT[:5])
    assert site.as_("cora", "import", str(coordinator_rows)).exit_code == 0
    (episode,) = json.loads(site.as_("cora", "--json", "episode", "list").stdout)
    history = json.loads(site.as_("cora", "--json", "episode", "history", str(episode["id"])).stdout)
    assert {e["role"] for e in history} == {"coordinator"}


def test_rules_pins_the_episodes_to_a_rule_set(pathway: Pathway, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", A_LEFT[:3])
    assert run(pathway, str(path), "--rules", "99").exit_code == 3
    report = pathway.json("import", str(path), "--rules", "1")
    assert report["rules_version"] == 1


BAD_FILES = [
    # (file content, words in the message)
    (b"patient_ref,side,occurred_on\r\nMRN-1,left,2026-01-05\r\n", "lacks the column trigger"),
    (b"patient_ref,side,trigger,occurred_on,colour\r\n", "'colour' is not a column"),
    (b"patient_ref,side,trigger,occurred_on,pain,pain\r\n", "pain appears twice"),
    (b"patient_ref,side,trigger,occurred_on\r\n", "has no rows to import"),
    (b"", "is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a binary file"),
    ("patient_ref,side,trigger,occurred_on\r\nMRN-é,left,open,2026-01-05\r\n".encode("latin-1"), "is not UTF-8"),
    (b"PK\x03\x04not really a workbook", "is a zip file"),
    (b'patient_ref,side,trigger,occurred_on\r\n"MRN-1,left,open,2026-01-05\r\n', "check its quotes"),
]


@pytest.mark.parametrize(("content", "words"), BAD_FILES)
def test_bad_files_are_refused_with_a_sentence(
    pathway: Pathway, engine: sa.Engine, tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    before = dump(engine)
    result = run(pathway, str(path), "--format", "csv")
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert dump(engine) == before


def test_a_2_gb_file_is_refused_by_its_size(pathway: Pathway, tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as f:
        f.write(b"patient_ref,side,trigger,occurred_on\r\n")
        f.truncate(2 * 1024**3)  # sparse: no disk used
    result = run(pathway, str(path))
    assert result.exit_code == 2
    assert "is 2.0 GiB; pathway reads import files of up to 1.0 GiB" in result.stderr


def test_only_regular_files_are_read(pathway: Pathway, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert "not a regular file" in run(pathway, str(fifo)).stderr
    assert "There is no file" in run(pathway, str(tmp_path / "missing.csv")).stderr
    link = tmp_path / "link.csv"
    link.symlink_to(write_csv(tmp_path / "real.csv", A_LEFT[:1]))
    assert run(pathway, str(link)).exit_code == 2  # links are not followed


def test_the_events_table_keeps_file_and_row(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", CASELOAD)
    run(pathway, str(path))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(EventRow.source, EventRow.source_row).order_by(EventRow.source_row)).all()
    assert [row.source_row for row in rows] == list(range(2, len(CASELOAD) + 2))
    assert {row.source for row in rows} == {"import"}


def test_import_template_and_a_file_named_template(
    pathway: Pathway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = pathway("import", "template")
    assert shown.exit_code == 0
    header, *example = shown.stdout.splitlines()
    assert header.startswith("patient_ref,side,trigger,occurred_on,episode_key,referred_on,has_hip_arthroplasty,")
    assert len(example) == 10 and all(line.startswith("EXAMPLE-1,left,") for line in example)
    out = tmp_path / "template"
    assert pathway("import", "template", "--out", str(out)).exit_code == 0
    assert out.read_text().startswith(header)
    monkeypatch.chdir(tmp_path)
    report = pathway.json("import", "./template")
    assert report["episodes_opened"] == 1 and report["rows_refused"] == 0
    assert "template" in pathway("import", "--help").stdout
    assert "--format [csv|xlsx]" in pathway("import", "template", "--help").stdout


def test_the_rows_as_written_by_a_spreadsheet(pathway: Pathway, tmp_path: Path) -> None:
    """Trailing empty columns and rows, upper-case choices and headings, spaces around cells."""
    text = (
        "Patient_Ref;Side;Trigger;Occurred_On;Pain;;\r\n"
        " MRN-1 ; LEFT ;open;2026-01-05;;;\r\n"
        ";;;;;;\r\n"
        "MRN-1;Left;Order_Radiographs;2026-01-06;;;\r\n"
    )
    path = tmp_path / "s.csv"
    path.write_bytes(csv_bytes([])[:0] + text.encode())
    report = pathway.json("import", str(path))
    assert report["events"] == 2
    assert states(pathway) == {("MRN-1", "left"): ["radiographs_ordered"]}


def test_worker_processes_judge_as_the_importing_process_does(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large files are judged in worker processes: the database and the report come out the same."""
    clean = write_csv(tmp_path / "clean.csv", many_episodes(120) + CASELOAD)
    faulty_rows = [{**row, "patient_ref": row["patient_ref"].replace("MRN", "MRF")} for row in many_episodes(80)]
    faulty_rows.insert(300, r(faulty_rows[300]["patient_ref"], "left", "discharge", "2026-12-01", outcome="nope"))
    faulty = write_csv(tmp_path / "faulty.csv", faulty_rows)
    results = []
    for workers in ("0", "2"):
        monkeypatch.setenv("PATHWAY_IMPORT_WORKERS", workers)
        folder = tmp_path / f"w{workers}"
        folder.mkdir()
        url = backend.fresh(folder)
        target = Pathway(url)
        report = target.json("import", str(clean))
        refused = target("--json", "import", str(faulty))
        engine = create_engine(resolve_url(url)[0])
        results.append((report, json.loads(refused.stdout), dump(engine)))
        engine.dispose()
    (report0, refused0, dump0), (report2, refused2, dump2) = results
    assert report0 == report2 and report0["episodes_opened"] == 125
    assert refused0 == refused2 and refused0["error"]["exit_code"] == 2
    assert [p["kind"] for p in refused0["refused"]] == ["invalid"]
    assert dump0 == dump2
