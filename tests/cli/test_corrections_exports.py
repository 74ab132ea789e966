"""Corrected and voided events in the quality report, the CSV and JSON Lines exports, and FHIR."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from freezegun import freeze_time

from tests.cli.test_audit_export import NOW, build_trail
from tests.cli.test_audit_fhir import by_id, dangling, fhir_export, validate
from tests.conftest import Pathway
from tests.walk import WALK, sets


def corrected_trail(pathway: Pathway) -> dict[str, int]:
    """The export tests' trail, then corrections and voids on it (all made on NOW's day, 2027-01-10).

    Episode 1: seq 5 record_mri, 9 record_injection_response (8 -> 3), 12 refer_to_surgery, 14 record_surgery
    (open), 15 record_followup, 16 discharge. Episode 4 walks to record_surgery (seq 13, endoscopic).
    """
    ids = build_trail(pathway)
    with freeze_time(NOW):
        a = ids["a"]
        # 17: the response was 8 -> 6 (25 %), so the referral (12) no longer has a positive diagnostic injection.
        pathway.ok("correct", str(a), "9", "--set", "pain_after=6", "--reason", "misread the chart",
                   "--override", "referral stands: the response was clear clinically")  # fmt: skip
        pathway.ok("correct", str(a), "5", "--set", "ifs_mm=13", "--reason", "report addendum")  # 18
        pathway.ok("void", str(a), "15", "--reason", "follow-up belongs to another patient")  # 19
        d = pathway.open("MRN-D", "left", "2026-01-05")
        for trigger, on, items in WALK:
            pathway.ok("advance", str(d), trigger, "--on", on, *sets(items))
        pathway.ok("void", str(d), "13", "--reason", "surgery was postponed")  # 14
    return {**ids, "d": d}


def test_the_quality_report_counts_the_effective_history_and_the_corrections(pathway: Pathway) -> None:
    corrected_trail(pathway)
    with freeze_time(NOW):
        report = pathway.json("report", "quality")
    injections = report["injections"]
    assert (injections["responses"], injections["diagnostic_measured"], injections["diagnostic_positive"]) == (2, 2, 1)
    assert report["surgical_approach"]["operations"] == 1  # episode 4's operation was voided
    assert report["overrides_by_guard"]["by_guard"]["surgery_requires_positive_diagnostic_injection"] == 1
    assert report["corrections"] == {
        "corrected": 2,
        "voided": 2,
        "by_trigger": {
            "record_followup": {"corrected": 0, "voided": 1},
            "record_injection_response": {"corrected": 1, "voided": 0},
            "record_mri": {"corrected": 1, "voided": 0},
            "record_surgery": {"corrected": 0, "voided": 1},
        },
        "by_role": {"none": {"corrected": 2, "voided": 2}},
    }
    with freeze_time(NOW):
        text = pathway.ok("report", "quality").stdout
        table = list(csv.DictReader(io.StringIO(pathway.ok("report", "quality", "--format", "csv").stdout)))
    assert "Corrections and voids" in text
    assert {"corrections", "by_trigger.record_mri.corrected"} <= {r["section"] for r in table} | {
        r["figure"] for r in table
    }


def test_exports_carry_the_correcting_events_and_each_event_s_status(pathway: Pathway) -> None:
    ids = corrected_trail(pathway)
    with freeze_time(NOW):
        text = pathway.ok("audit", "export", "--format", "csv", "--identified").stdout
        lines = pathway.ok("audit", "export", "--format", "jsonl", "--identified").stdout.splitlines()
    table = [r for r in csv.DictReader(io.StringIO(text)) if r["episode_id"] == str(ids["a"])]
    status = {int(r["seq"]): r["status"] for r in table}
    assert (status[5], status[9], status[15], status[16], status[17]) == (
        "corrected by 18", "corrected by 17", "entered in error by 19", "effective", "effective")  # fmt: skip
    correction = next(r for r in table if r["seq"] == "17")
    assert correction["trigger"] == "correct" and json.loads(correction["fields"])["set"] == {"pain_after": 6}
    assert correction["override_reason"].startswith("referral stands")
    recorded = next(r for r in table if r["seq"] == "9")
    assert json.loads(recorded["fields"])["pain_after"] == 3  # the original stays as it was recorded
    rows = [json.loads(line) for line in lines]
    assert {(r["episode_id"], r["seq"]): r["status"] for r in rows}[(ids["d"], 13)] == "entered in error by 14"


def test_fhir_marks_voided_and_corrected_resources_and_adds_a_provenance_per_correction(
    pathway: Pathway, tmp_path: Path
) -> None:
    corrected_trail(pathway)
    res = fhir_export(pathway, tmp_path / "fhir", "--identified")
    validate(res)
    assert dangling(res) == []
    observations = by_id(res["Observation"])
    assert observations["episode-1-event-5-ifs-mm"]["status"] == "corrected"
    assert observations["episode-1-event-5-ifs-mm"]["valueQuantity"]["value"] == 13
    assert observations["episode-1-event-5-qfs-mm"]["status"] == "corrected"
    assert observations["episode-1-event-9-pain-after"]["valueQuantity"]["value"] == 6
    assert observations["episode-1-event-15-pain"]["status"] == "entered-in-error"
    assert observations["episode-1-event-10-pain"]["status"] == "final"
    procedures = by_id(res["Procedure"])
    assert procedures["episode-4-event-13"]["status"] == "entered-in-error"
    assert procedures["episode-1-event-8"]["outcome"]["text"] == "temporary relief; pain 8 to 6 (25% reduction)"
    provenance = by_id(res["Provenance"])
    fix = provenance["episode-1-event-18"]
    assert fix["activity"]["coding"][0]["code"] == "UPDATE" and fix["activity"]["text"] == "correct"
    assert fix["entity"] == [{"role": "revision", "what": {"reference": "Provenance/episode-1-event-5"}}]
    assert {"reference": "Observation/episode-1-event-5-ifs-mm"} in fix["target"]
    assert fix["reason"] == [{"text": "correction of event 5: report addendum"}]
    void = provenance["episode-4-event-14"]
    assert void["activity"]["coding"][0]["code"] == "NULLIFY"
    assert void["entity"][0] == {"role": "removal", "what": {"reference": "Provenance/episode-4-event-13"}}
    # The voided operation changes nothing else: episode 4 is back to surgery_scheduled.
    assert by_id(res["EpisodeOfCare"])["episode-4"]["statusHistory"][-1]["status"] == "active"
    plan = by_id(res["CarePlan"])["episode-4-careplan"]
    assert plan["activity"][-1]["detail"]["status"] == "scheduled"


def test_a_period_export_of_the_corrections_resolves_and_withholds_their_reasons(
    pathway: Pathway, tmp_path: Path
) -> None:
    corrected_trail(pathway)
    res = fhir_export(pathway, tmp_path / "fhir", "--since", "2027-01-10", "--until", "2027-01-10")
    validate(res)
    assert dangling(res) == []
    provenance = by_id(res["Provenance"])
    assert "episode-1-event-5" in provenance  # the revised event's own Provenance, for the correction to point at
    assert provenance["episode-1-event-18"]["reason"] == [{"text": "correction of event 5: [free text withheld]"}]
    text = json.dumps(res)
    assert "report addendum" not in text and "MRN" not in text
