"""`pathway import` of xlsx workbooks and of another database's JSON Lines export, and the xlsx template."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from freezegun import freeze_time
from openpyxl import Workbook, load_workbook

from pathway.domain.audit import chain_hash, payload_of
from pathway.imports.columns import COLUMNS, TRIGGER_NAMES
from tests.cli.test_audit_export import NOW as EXPORTED_AT
from tests.cli.test_audit_export import build_trail
from tests.conftest import Backend, Pathway
from tests.imports import CASELOAD, FINAL_STATES, NOW, interleaved


def workbook(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def typed(value: str, column: str) -> Any:
    """A cell as a spreadsheet holds it: dates as date cells, numbers as numbers, booleans as booleans."""
    if column in ("occurred_on", "referred_on", "planned_on") and value:
        return datetime.fromisoformat(value)
    if column in ("ifs_mm", "qfs_mm", "mhhs", "pain", "pain_before", "pain_after") and value:
        return float(value)  # Excel keeps every number as a float
    if value in ("true", "yes"):
        return True
    if value in ("false", "no"):
        return False
    return value or None


@freeze_time(NOW)
def test_an_xlsx_workbook_with_date_cells_numbers_and_booleans(pathway: Pathway, tmp_path: Path) -> None:
    rows = [[typed(str(row.get(c, "")), c) for c in COLUMNS] for row in interleaved(CASELOAD)]
    rows.insert(3, [None] * len(COLUMNS))  # an empty row, as spreadsheets keep them
    path = workbook(tmp_path / "caseload.xlsx", list(COLUMNS), rows)
    report = pathway.json("import", str(path))
    assert (report["format"], report["episodes_opened"], report["events"]) == ("xlsx", 5, 25)
    found: dict[tuple[str, str], list[str]] = {}
    for e in pathway.json("episode", "list"):
        found.setdefault((e["patient_ref"], e["side"]), []).append(e["state"])
    assert found == FINAL_STATES
    a = next(e for e in pathway.json("episode", "list") if (e["patient_ref"], e["side"]) == ("MRN-A", "left"))
    history = {e["trigger"]: e for e in reversed(pathway.json("episode", "history", str(a["id"])))}
    assert history["record_mri"]["fields"]["ifs_mm"] == 12.5 and history["record_mri"]["fields"]["qfs_mm"] == 8
    assert history["record_mri"]["fields"]["qf_edema"] is True
    assert history["start_conservative"]["fields"]["mhhs"] == 55.5
    assert history["schedule_surgery"]["fields"]["planned_on"] == "2026-06-01"  # from a date cell
    assert history["schedule_surgery"]["occurred_on"] == "2026-05-10"
    assert history["record_injection_response"]["fields"]["pain_before"] == 8  # not 8.0
    sources = {e["source_row"] for e in pathway.json("episode", "history", str(a["id"]))}
    assert 5 not in sources  # row 5 is the empty one: rows keep the sheet's numbers


@freeze_time(NOW)
def test_xlsx_problems_name_the_sheet_rows(pathway: Pathway, tmp_path: Path) -> None:
    header = ["patient_ref", "side", "trigger", "occurred_on", "pain"]
    rows: list[list[Any]] = [
        ["MRN-1", "left", "open", datetime(2026, 1, 5)],
        [None, None, None, None, None],
        ["MRN-1", "left", "order_radiographs", "5/1/2026"],
    ]
    result = pathway("import", str(workbook(tmp_path / "p.xlsx", header, rows)))
    assert result.exit_code == 2
    assert "row 4 (patient 1): order_radiographs invalid: occurred_on '5/1/2026' is not a date" in result.stderr
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not a workbook at all")
    assert "is not a readable xlsx workbook" in pathway("import", str(broken)).stderr
    wrong = workbook(tmp_path / "wrong.xlsx", ["name", "dob"], [["x", "y"]])
    assert "lacks the columns patient_ref, side, trigger, occurred_on" in pathway("import", str(wrong)).stderr


def rebuilt(path: Path, part: str, content: bytes = b"", unpacks_to: int = 0, fill: bytes = b"\0") -> Path:
    """The workbook ``path`` with ``part`` replaced (or added): ``content``, then ``fill`` up to ``unpacks_to`` bytes.

    A fill of repeated bytes deflates to almost nothing, so a few megabytes on disk
    unpack to a gigabyte: a "zip bomb".
    """
    out = path.with_name(f"rebuilt-{path.name}")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for info in source.infolist():
            if info.filename != part:
                target.writestr(info, source.read(info))
        with target.open(part, "w", force_zip64=True) as f:
            f.write(content)
            left, chunk = unpacks_to - len(content), fill * ((1 << 24) // len(fill))
            while left > 0:
                f.write(chunk[:left])
                left -= len(chunk[:left])
    return out


@freeze_time(NOW)
def test_a_workbook_that_would_unpack_to_more_than_an_import_takes_is_refused_unread(
    pathway: Pathway, tmp_path: Path
) -> None:
    rows = [[typed(str(row.get(c, "")), c) for c in COLUMNS] for row in CASELOAD]
    good = workbook(tmp_path / "caseload.xlsx", list(COLUMNS), rows)
    bomb = rebuilt(good, "xl/media/padding.bin", unpacks_to=1_200_000_000)
    assert bomb.stat().st_size < 20_000_000
    result = pathway("import", str(bomb))
    assert result.exit_code == 2
    assert "would unpack to 1.1 GiB, over the 1.0 GiB an import takes; split it by patient" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    strings = rebuilt(good, "xl/sharedStrings.xml", b'<sst xmlns="http://schemas.openxmlformats.org/'
                      b'spreadsheetml/2006/main">', unpacks_to=300 << 20, fill=b"<si><t>MRN-A</t></si>")  # fmt: skip
    result = pathway("import", str(strings))
    assert result.exit_code == 2
    assert "The text cells of" in result.stderr and "unpack to 300.0 MiB, over the 256.0 MiB" in result.stderr
    assert pathway.json("episode", "list") == []  # nothing imported
    assert pathway.json("import", str(good))["events"] == 25  # the same rows, unpadded, import


@freeze_time(NOW)
def test_a_workbook_damaged_part_way_through_its_sheet_is_refused_whole(pathway: Pathway, tmp_path: Path) -> None:
    rows = [[typed(str(row.get(c, "")), c) for c in COLUMNS] for row in CASELOAD]
    good = workbook(tmp_path / "caseload.xlsx", list(COLUMNS), rows)
    with zipfile.ZipFile(good) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    cut = rebuilt(good, "xl/worksheets/sheet1.xml", sheet[: len(sheet) * 2 // 3])  # saved half-way, say
    result = pathway("import", str(cut))
    assert result.exit_code == 2
    assert "is damaged at row" in result.stderr and "export it as CSV UTF-8" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert pathway.json("episode", "list") == []


@freeze_time(NOW)
def test_the_xlsx_template_has_drop_downs_and_imports_as_it_is(pathway: Pathway, tmp_path: Path) -> None:
    out = tmp_path / "template.xlsx"
    assert pathway("import", "template", "--format", "xlsx", "--out", str(out)).exit_code == 0
    book = load_workbook(out)
    sheet = book.worksheets[0]
    assert sheet.title == "import"
    assert [c.value for c in sheet[1]] == list(COLUMNS)
    assert isinstance(sheet["D2"].value, datetime)  # occurred_on: real date cells
    lists = book["lists"]
    choices = {}
    for column in lists.iter_cols(values_only=True):
        choices[column[0]] = [v for v in column[1:] if v is not None]
    assert choices["trigger"] == list(TRIGGER_NAMES) and choices["side"] == ["left", "right"]
    assert choices["result"] == ["negative", "equivocal", "nondiagnostic", "suggestive_ifi"]
    assert choices["qf_edema"] == ["true", "false"] and "diagnosis" in choices and "approach" in choices
    by_letter = {c.column_letter: c.value for c in sheet[1]}
    kinds = {by_letter[str(v.sqref).rstrip("0123456789").split(":")[0].rstrip("0123456789")]: v.type
             for v in sheet.data_validations.dataValidation}  # fmt: skip
    assert kinds["trigger"] == kinds["side"] == kinds["result"] == kinds["relief"] == "list"
    assert kinds["pain"] == "whole" and kinds["mhhs"] == "decimal"
    assert "components" not in kinds and "reason" not in kinds  # a list of choices; text for some triggers
    notes = {row[0]: row[1] for row in book["columns"].iter_rows(min_row=2, values_only=True)}
    assert set(notes) == set(COLUMNS) and "record_followup" in notes["note"]
    report = pathway.json("import", str(out))
    assert report["episodes_opened"] == 1 and report["events"] == 10 and report["rows_refused"] == 0


@freeze_time(NOW)
def test_the_csv_template_to_standard_output_and_the_xlsx_one_to_a_pipe(pathway: Pathway) -> None:
    csv_text = pathway("import", "template", "--format", "csv").stdout
    assert csv_text.splitlines()[0] == ",".join(COLUMNS)
    xlsx = pathway.runner.invoke(__import__("cli").cli, ["import", "template", "--format", "xlsx"])
    assert xlsx.exit_code == 0 and xlsx.stdout_bytes.startswith(b"PK\x03\x04")


def logical(pathway: Pathway) -> list[dict[str, Any]]:
    """Every episode and event as a user sees them, without ids, hashes, instants or who recorded them."""
    kept = ("patient_ref", "side", "referred_on", "has_hip_arthroplasty", "state", "state_entered_on",
            "last_event_on", "rules_version", "version", "event_count")  # fmt: skip
    episodes = []
    for e in pathway.json("episode", "list"):
        events = [
            {k: v for k, v in event.items()
             if k not in ("actor", "auth", "recorded_at", "hash", "source", "source_sha256", "source_row")}
            for event in pathway.json("episode", "history", str(e["id"]))
        ]  # fmt: skip
        episodes.append({**{k: e[k] for k in kept}, "events": events})
    return sorted(episodes, key=lambda e: (e["patient_ref"], e["side"], e["referred_on"]))


def test_an_export_imported_into_a_fresh_database_reproduces_every_episode(
    pathway: Pathway, backend: Backend, tmp_path: Path
) -> None:
    build_trail(pathway)  # three episodes: operated on (open approach), closed after an override, just referred
    with freeze_time(EXPORTED_AT):
        a = pathway.open("MRN-D", "left", "2026-03-01")
        pathway.advance(a, "amend", "2026-03-02", "has_hip_arthroplasty=true", "reason=found on the X-ray")
        pathway.advance(a, "close", "2026-03-03", "reason=alternative_diagnosis",
                        "diagnosis=adverse_reaction_to_metal_debris")  # fmt: skip
        pathway.open("MRN-D", "left", "2026-04-01")  # the same patient and side again: two episodes
        export = tmp_path / "trail.jsonl"
        pathway.ok("audit", "export", "--format", "jsonl", "--identified", "--out", str(export))
        before = logical(pathway)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    target = Pathway(backend.fresh(fresh))
    with freeze_time("2027-02-01 09:00:00"):
        dry = target.json("import", str(export), "--dry-run")
        report = target.json("import", str(export))
    assert (dry["episodes_opened"], dry["events"]) == (report["episodes_opened"], report["events"])
    assert (report["format"], report["episodes_opened"], report["overrides"], report["rows_refused"]) == (
        "jsonl", 5, 1, 0,
    )  # fmt: skip
    assert logical(target) == before
    assert target("audit", "verify").exit_code == 0
    with freeze_time("2027-02-01 09:00:00"):
        lines = target("audit", "export", "--format", "jsonl", "--identified").stdout.splitlines()
        pseudonymised = target("audit", "export", "--format", "csv").stdout
    sha = hashlib.sha256(export.read_bytes()).hexdigest()
    for record in map(json.loads, lines):  # imported events can be rehashed offline from the export too
        assert (record["source"], record["source_sha256"]) == ("import", sha) and record["source_row"] >= 1
        dates = {"occurred_on": date.fromisoformat(record["occurred_on"]),
                 "recorded_at": datetime.fromisoformat(record["recorded_at"])}  # fmt: skip
        assert chain_hash(record["prev_hash"], payload_of({**record, **dates})) == record["hash"]
    assert sha not in pseudonymised and "[free text withheld]" in pseudonymised
    with freeze_time("2027-02-01 09:00:00"):
        again = target("import", str(export))
    assert again.exit_code == 1 and "already imported" in again.stderr


@freeze_time(NOW)
def test_json_lines_that_are_not_an_identified_export_are_refused(pathway: Pathway, tmp_path: Path) -> None:
    cases = {
        '{"episode_id": 1, "seq": 1, "patient_pseudonym": "ab", "side": "left"}\n': "a pseudonymised export cannot",
        "[1, 2]\n": "is not a JSON object",
        "{not json\n": "Line 1 is not JSON",
    }
    for text, words in cases.items():
        path = tmp_path / "x.jsonl"
        path.write_text(text)
        result = pathway("import", str(path))
        assert result.exit_code == 2 and words in result.stderr, (text, result.output)
    line = {"episode_id": 9, "patient_ref": "MRN-1", "side": "left", "trigger": "open", "occurred_on": "2026-01-05",
            "fields": {"patient_ref": "MRN-1", "side": "left", "referred_on": "2026-01-05",
                       "has_hip_arthroplasty": False}}  # fmt: skip
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(line) + "\n\n")
    assert pathway.json("import", str(path))["episodes_opened"] == 1
    assert pathway.json("episode", "list")[0]["referred_on"] == "2026-01-05"
    rules_moved = {**line, "episode_id": 10, "patient_ref": "MRN-2", "trigger": "migrate_rules", "fields": {}}
    opening = {**line, "episode_id": 10, "patient_ref": "MRN-2"}
    path.write_text(json.dumps(opening) + "\n" + json.dumps(rules_moved) + "\n")
    report = pathway.json("import", str(path))
    assert (report["events"], report["skipped"]) == (1, {"migrate_rules": 1})
    correction = {**line, "episode_id": 11, "patient_ref": "MRN-3", "seq": 2, "trigger": "correct",
                  "fields": {"seq": 1, "set": {"referred_on": "2026-01-04"}, "reason": "typo"}}  # fmt: skip
    opened = {**line, "episode_id": 11, "patient_ref": "MRN-3"}
    path.write_text(json.dumps(opened) + "\n" + json.dumps(correction) + "\n")
    refused = pathway("import", str(path))
    assert refused.exit_code == 2 and "Line 2 is a correct event" in refused.stderr, refused.output
    assert len(pathway.json("episode", "list")) == 2  # nothing of that file was imported
