"""`pathway correct` and `pathway void`: the record put right with new events, the episode re-derived.

Every scenario runs on both back ends with a frozen clock; refusals must leave the
database exactly as it was.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from tests.cli.test_access import USERS, Site
from tests.conftest import Pathway, dump
from tests.walk import WALK, sets

TODAY = "2026-07-01 10:00:00"

pytestmark = pytest.mark.usefixtures("_frozen")


@pytest.fixture
def _frozen() -> Any:
    with freeze_time(TODAY):
        yield


def walked(pathway: Pathway, steps: int, patient: str = "MRN-1", *acting: str) -> int:
    """An episode taken through the first ``steps`` steps of the usual walk (seq 2 is the first)."""
    eid = pathway.json(*acting, "episode", "open", "--patient", patient, "--side", "left",
                       "--referred-on", "2026-01-05")["id"]  # fmt: skip
    for trigger, on, items in WALK[:steps]:
        pathway.ok(*acting, "advance", str(eid), trigger, "--on", on, *sets(items))
    return eid


def history(pathway: Pathway, eid: int, *extra: str) -> list[dict[str, Any]]:
    return pathway.json("episode", "history", str(eid), *extra)


def show(pathway: Pathway, eid: int, *acting: str) -> dict[str, Any]:
    return pathway.json(*acting, "episode", "show", str(eid))


def refused(pathway: Pathway, engine: sa.Engine, code: int, *args: str) -> str:
    """Run a command that must fail with ``code`` and change nothing; its stderr."""
    before = dump(engine)
    result = pathway(*args)
    assert result.exit_code == code, result.output
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert dump(engine) == before
    return result.stderr


# -- correct ---------------------------------------------------------------------------


def test_a_corrected_mri_value_that_undoes_the_diagnosis_is_refused_naming_the_diagnosis(
    pathway: Pathway, engine: sa.Engine
) -> None:
    eid = walked(pathway, 5)  # ... record_mri (seq 5), confirm_diagnosis (seq 6)
    message = refused(pathway, engine, 1, "correct", str(eid), "5", "--set", "ifs_mm=17", "--set", "qfs_mm=12",
                      "--reason", "mis-keyed")  # fmt: skip
    assert "event 6 (confirm_diagnosis on 2026-01-25)" in message
    assert "IFS 17 mm (> 15), QFS 12 mm (> 10)" in message and "--override" in message


def test_a_clinician_overrides_a_refused_correction_and_it_counts_as_a_deviation(pathway: Pathway) -> None:
    eid = walked(pathway, 5)
    done = pathway.json("correct", str(eid), "5", "--set", "ifs_mm=17", "--set", "qfs_mm=12",
                        "--reason", "mis-keyed", "--override", "clinical picture is typical")  # fmt: skip
    event = done["event"]
    assert (done["target"], done["status"], done["state"]) == (5, "corrected by 7", "diagnosed")
    assert event["trigger"] == "correct" and event["seq"] == 7
    assert event["fields"] == {"seq": 5, "set": {"ifs_mm": 17, "qfs_mm": 12}, "reason": "mis-keyed",
                               "overrides": [{"seq": 6, "guards": ["mri_supports_ifi"]}]}  # fmt: skip
    assert event["overridden_guards"] == ["mri_supports_ifi"]
    assert event["override_reason"] == "clinical picture is typical"
    # The override stands: a later, unrelated correction is not refused for the same reason.
    pathway.ok("correct", str(eid), "5", "--set", "positioning=supine", "--reason", "report addendum")
    (mri,) = [e for e in history(pathway, eid, "--effective") if e["seq"] == 5]
    assert mri["fields"]["ifs_mm"] == 17 and mri["fields"]["positioning"] == "supine"
    assert mri["status"] == "corrected by 8"


def test_an_accepted_correction_re_derives_derived_fields_and_keeps_the_original(pathway: Pathway) -> None:
    eid = walked(pathway, 8)  # record_injection_response is seq 9: 8 -> 2, 75 %
    done = pathway.json("correct", str(eid), "9", "--set", "pain_after=6", "--reason", "pain after was 6")
    assert done["event"]["fields"]["set"] == {"pain_after": 6}
    recorded = {e["seq"]: e for e in history(pathway, eid)}
    assert recorded[9]["fields"]["pain_reduction_pct"] == 75.0 and recorded[9]["status"] == "corrected by 10"
    assert recorded[10]["status"] == "effective"
    effective = {e["seq"]: e for e in history(pathway, eid, "--effective")}
    assert effective[9]["fields"]["pain_reduction_pct"] == 25.0 and 10 not in effective
    # The guards now see 25 %: surgery needs a positive diagnostic response.
    (refer,) = [t for t in pathway.json("next", str(eid))["triggers"] if t["trigger"] == "refer_to_surgery"]
    assert any("25% pain reduction" in reason for reason in refer["reasons"])


def test_a_derived_field_cannot_be_set(pathway: Pathway, engine: sa.Engine) -> None:
    eid = walked(pathway, 8)
    message = refused(pathway, engine, 2, "correct", str(eid), "9", "--set", "pain_reduction_pct=50", "--reason", "x")
    assert "worked out from the other fields" in message


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (["--set", "colour=blue"], 2, "has no field 'colour'"),
        (["--set", "ifs_mm=0"], 2, "ifs_mm must be a number greater than 0"),
        (["--set", "ifs_mm=11"], 2, "nothing to correct"),
        ([], 2, "nothing to correct"),
        (["--on", "2026-07-02"], 2, "after today"),
        (["--on", "2026-01-08"], 2, "before this episode's latest clinical date (2026-01-09)"),
        (["--on", "2026-1-20"], 2, "write it as YYYY-MM-DD"),
        (["--on", "2026-01-26"], 1, "event 6 (confirm_diagnosis on 2026-01-25)"),
    ],
)
def test_bad_corrections_of_the_mri_report_change_nothing(
    pathway: Pathway, engine: sa.Engine, args: list[str], code: int, expected: str
) -> None:
    eid = walked(pathway, 5)  # record_mri (seq 5) on 2026-01-20 after order_mri on 2026-01-09
    message = refused(pathway, engine, code, "correct", str(eid), "5", *args, "--reason", "typo")
    assert expected in message
    if code == 1:  # a later event out of order: no override can help
        assert "--override" not in message
        refused(pathway, engine, 1, "correct", str(eid), "5", *args, "--reason", "typo", "--override", "sure")


def test_an_event_that_does_not_exist_cannot_be_corrected(pathway: Pathway, engine: sa.Engine) -> None:
    eid = walked(pathway, 2)
    message = refused(pathway, engine, 3, "correct", str(eid), "42", "--set", "result=equivocal", "--reason", "x")
    assert "has no event 42" in message


def test_the_opening_event_is_corrected_in_any_state_the_patient_by_a_clinician(site: Site, engine: sa.Engine) -> None:
    pathway = site.pathway
    kim, cora = ("--as", USERS["clinician"]), ("--as", USERS["coordinator"])
    eid = walked(pathway, 1, "MRN-1", *kim)
    pathway.ok(*kim, "advance", str(eid), "close", "--on", "2026-01-07", "--set", "reason=withdrawn")
    done = pathway.json(*cora, "correct", str(eid), "1", "--set", "side=right", "--set", "referred_on=2026-01-04",
                        "--reason", "keyed at referral")  # fmt: skip
    assert done["status"] == "corrected by 4" and done["event"]["role"] == "coordinator"
    episode = show(pathway, eid, *kim)
    assert (episode["side"], episode["referred_on"], episode["state"]) == ("right", "2026-01-04", "closed")
    assert site.as_(USERS["coordinator"], "correct", str(eid), "1", "--set", "patient_ref=MRN-2",
                    "--reason", "x").exit_code == 5  # fmt: skip
    pathway.ok(*kim, "correct", str(eid), "1", "--set", "patient_ref= MRN-2 ", "--reason", "wrong patient")
    assert show(pathway, eid, *kim)["patient_ref"] == "MRN-2"
    for args, expected in ((["--on", "2026-01-03"], "referral date"), (["--set", "referred_on=2026-01-07"], "event 2"),
                           (["--set", "referred_on=2026-07-02"], "after today")):  # fmt: skip
        result = pathway(*kim, "correct", str(eid), "1", *args, "--reason", "x")
        assert result.exit_code in (1, 2) and expected in result.stderr, result.output
    assert pathway.json(*kim, "audit", "verify")["intact"]


def test_corrections_and_voided_events_are_not_corrected_again(pathway: Pathway, engine: sa.Engine) -> None:
    eid = walked(pathway, 2)  # seq 3: record_radiographs
    pathway.ok("correct", str(eid), "3", "--set", "result=equivocal", "--reason", "report says equivocal")
    assert "correct event 3 instead" in refused(pathway, engine, 2, "correct", str(eid), "4", "--set", "seq=2",
                                                "--reason", "x")  # fmt: skip
    pathway.ok("void", str(eid), "3", "--reason", "not this patient's report")
    message = refused(pathway, engine, 2, "correct", str(eid), "3", "--set", "result=negative", "--reason", "x")
    assert "entered in error by 5" in message
    assert "entered in error by 5" in refused(pathway, engine, 2, "void", str(eid), "3", "--reason", "again")


def test_a_missing_reason_or_episode_is_refused(pathway: Pathway, engine: sa.Engine) -> None:
    eid = walked(pathway, 2)
    refused(pathway, engine, 2, "correct", str(eid), "3", "--set", "result=equivocal")
    refused(pathway, engine, 2, "correct", str(eid), "3", "--set", "result=equivocal", "--reason", "  ")
    refused(pathway, engine, 3, "correct", "99", "3", "--set", "result=equivocal", "--reason", "x")
    refused(pathway, engine, 3, "void", "99", "3", "--reason", "x")


def test_a_corrected_date_moves_the_state_date_and_the_flags(pathway: Pathway, engine: sa.Engine) -> None:
    eid = walked(pathway, 9)  # reassess (seq 10) on 2026-05-10
    pathway.ok("correct", str(eid), "10", "--on", "2026-05-20", "--reason", "reassessed on the 20th")
    with engine.connect() as conn:
        anchors = conn.execute(
            sa.text("SELECT anchor_on, resolved_at FROM flags WHERE episode_id = :e AND kind = 'reassessment'"),
            {"e": eid},
        ).all()
    unresolved = [str(a) for a, resolved in anchors if resolved is None]
    assert unresolved == ["2026-05-20"]
    assert show(pathway, eid)["last_event_on"] == "2026-05-20"
    # The job opens the reassessment flag 90 days after the corrected date, not the recorded one.
    assert pathway.json("jobs", "flag-overdue", "--now", "2026-08-17T10:00:00")["opened"] == 0
    assert pathway.json("jobs", "flag-overdue", "--now", "2026-08-18T10:00:00")["opened"] == 1


# -- void ------------------------------------------------------------------------------


def test_voiding_the_latest_event_returns_the_episode_to_the_state_before_it(pathway: Pathway) -> None:
    eid = walked(pathway, 6)  # start_conservative is seq 7
    done = pathway.json("void", str(eid), "7", "--reason", "started on the wrong episode")
    assert done["state"] == "diagnosed" and done["status"] == "entered in error by 8"
    episode = show(pathway, eid)
    assert (episode["state"], episode["state_entered_on"], episode["last_event_on"]) == (
        "diagnosed", "2026-01-25", "2026-01-25")  # fmt: skip
    assert [e["trigger"] for e in history(pathway, eid, "--effective")][-1] == "confirm_diagnosis"
    # The workup_decision flag is due again: start_conservative is possible again.
    pathway.ok("advance", str(eid), "start_conservative", "--on", "2026-02-02", "--set", "pain=6")
    assert pathway.json("audit", "verify")["intact"]


def test_the_opening_event_cannot_be_voided(pathway: Pathway, engine: sa.Engine) -> None:
    eid = walked(pathway, 1)
    assert "close the episode" in refused(pathway, engine, 2, "void", str(eid), "1", "--reason", "wrong patient")


def test_voiding_an_event_a_later_one_depends_on_is_refused_unless_overridden(
    pathway: Pathway, engine: sa.Engine
) -> None:
    eid = walked(pathway, 8)  # inject (seq 8), record_injection_response (seq 9)
    message = refused(pathway, engine, 1, "void", str(eid), "8", "--reason", "injection was cancelled")
    assert "event 9 (record_injection_response on 2026-02-20)" in message and "injection_done" in message
    done = pathway.json("void", str(eid), "8", "--reason", "cancelled", "--override", "response was to the block")
    assert done["event"]["overridden_guards"] == ["transition_possible"]
    assert done["state"] == "conservative_care"
    assert pathway.json("audit", "verify")["intact"]


def test_voiding_a_void_or_a_correction_restores_what_it_changed(pathway: Pathway) -> None:
    eid = walked(pathway, 2)  # record_radiographs seq 3: negative
    pathway.ok("correct", str(eid), "3", "--set", "result=equivocal", "--reason", "r")  # seq 4
    pathway.ok("void", str(eid), "4", "--reason", "the first report was right")  # seq 5
    (radiographs,) = [e for e in history(pathway, eid, "--effective") if e["seq"] == 3]
    assert radiographs["fields"]["result"] == "negative" and radiographs["status"] == "effective"
    pathway.ok("void", str(eid), "3", "--reason", "not this patient")  # seq 6
    assert show(pathway, eid)["state"] == "radiographs_ordered"
    pathway.ok("void", str(eid), "6", "--reason", "it was this patient after all")  # seq 7
    assert show(pathway, eid)["state"] == "radiographs_reported"
    statuses = {e["seq"]: e["status"] for e in history(pathway, eid)}
    assert statuses == {1: "effective", 2: "effective", 3: "effective", 4: "entered in error by 5", 5: "effective",
                        6: "entered in error by 7", 7: "effective"}  # fmt: skip
    assert pathway.json("audit", "verify")["intact"]


RADIOGRAPH_FLAG = sa.text(
    "SELECT id, opened_at, resolution FROM flags WHERE episode_id = :e AND kind = 'radiograph_report'"
)


def test_voiding_a_resolving_event_reopens_its_flag(pathway: Pathway, engine: sa.Engine) -> None:
    eid = walked(pathway, 1)  # radiographs ordered 2026-01-06: overdue from 2026-01-20
    assert pathway.json("jobs", "flag-overdue", "--now", "2026-01-21T10:00:00")["opened"] == 1
    pathway.ok("advance", str(eid), "record_radiographs", "--on", "2026-01-22", "--set", "result=negative")
    with engine.connect() as conn:
        (before,) = conn.execute(RADIOGRAPH_FLAG, {"e": eid}).all()
    assert before.resolution == "satisfied"
    pathway.ok("void", str(eid), "3", "--reason", "report belongs to another patient")
    (row,) = pathway.json("worklist")
    assert (row["episode_id"], row["kind"], row["state"]) == (eid, "radiograph_report", "radiographs_ordered")
    with engine.connect() as conn:
        after = conn.execute(RADIOGRAPH_FLAG, {"e": eid}).all()
    assert [(r.id, r.opened_at, r.resolution) for r in after] == [(before.id, before.opened_at, None)]


def test_voiding_a_close_reopens_the_episode_unless_the_patient_has_another_open_one(
    pathway: Pathway, engine: sa.Engine
) -> None:
    eid = walked(pathway, 1)
    pathway.ok("advance", str(eid), "close", "--on", "2026-01-07", "--set", "reason=withdrawn")
    other = pathway.open("MRN-1", "left", "2026-02-01")
    message = refused(pathway, engine, 2, "void", str(eid), "3", "--reason", "closed by mistake")
    assert f"episode {other}" in message and "MRN" not in message
    pathway.ok("advance", str(other), "close", "--on", "2026-02-02", "--set", "reason=withdrawn")
    assert pathway.json("void", str(eid), "3", "--reason", "closed by mistake")["state"] == "radiographs_ordered"


# -- duplicates, amend -----------------------------------------------------------------


def test_a_record_identical_to_an_effective_event_is_a_likely_duplicate(pathway: Pathway, engine: sa.Engine) -> None:
    eid = walked(pathway, 6)
    pathway.ok("advance", str(eid), "record_followup", "--on", "2026-03-01", "--set", "pain=5")
    message = refused(pathway, engine, 1, "advance", str(eid), "record_followup", "--on", "2026-03-01",
                      "--set", "pain=5")  # fmt: skip
    assert "event 8 already records record_followup on 2026-03-01" in message
    pathway.ok("advance", str(eid), "record_followup", "--on", "2026-03-01", "--set", "pain=4")  # not identical
    done = pathway.json("advance", str(eid), "record_followup", "--on", "2026-03-01", "--set", "pain=5",
                        "--override", "two visits that day")  # fmt: skip
    assert done["event"]["overridden_guards"] == ["not_a_duplicate"]
    pathway.ok("void", str(eid), "8", "--reason", "double entry")  # the override of seq 10 stands
    pathway.ok("advance", str(eid), "record_followup", "--on", "2026-03-02", "--set", "pain=5")


def test_a_correction_that_makes_a_later_event_a_duplicate_is_refused(pathway: Pathway, engine: sa.Engine) -> None:
    eid = walked(pathway, 6)
    pathway.ok("advance", str(eid), "record_followup", "--on", "2026-03-01", "--set", "pain=4")  # seq 8
    pathway.ok("advance", str(eid), "record_followup", "--on", "2026-03-01", "--set", "pain=5")  # seq 9
    message = refused(pathway, engine, 1, "correct", str(eid), "8", "--set", "pain=5", "--reason", "was 5")
    assert "event 9 (record_followup on 2026-03-01)" in message and "double entry" in message


def test_amend_corrects_side_referral_date_and_patient(site: Site, engine: sa.Engine) -> None:
    pathway = site.pathway
    eid = walked(pathway, 2, "MRN-1", "--as", "dr.kim")  # first clinical event 2026-01-06
    cora = ("--as", USERS["coordinator"])
    done = pathway.json(*cora, "advance", str(eid), "amend", "--on", "2026-01-08", "--set", "side=right",
                        "--set", "referred_on=2026-01-02", "--set", "reason=keyed the wrong side and date")  # fmt: skip
    assert done["state"] == "radiographs_reported"
    episode = show(pathway, eid, "--as", "rev")
    assert (episode["side"], episode["referred_on"]) == ("right", "2026-01-02")
    message = refused(pathway, engine, 1, *cora, "advance", str(eid), "amend", "--on", "2026-01-08",
                      "--set", "referred_on=2026-01-07", "--set", "reason=x")  # fmt: skip
    assert "event 2 (order_radiographs on 2026-01-06)" in message and "--override" not in message
    # A coordinator may not move the episode to another patient; a clinician may.
    result = pathway(*cora, "advance", str(eid), "amend", "--set", "patient_ref=MRN-2", "--set", "reason=x")
    assert result.exit_code == 5 and "MRN" not in result.stderr
    done = pathway.json("--as", "dr.kim", "advance", str(eid), "amend", "--set", "patient_ref=MRN-2",
                        "--set", "reason=steps were taken on the wrong patient")  # fmt: skip
    assert done["event"]["role"] == "clinician" and show(pathway, eid, "--as", "cora")["patient_ref"] == "MRN-2"
    assert pathway.json("--as", "rev", "audit", "verify")["intact"]


def test_amend_keeps_one_open_episode_per_patient_and_side(pathway: Pathway, engine: sa.Engine) -> None:
    left = pathway.open("MRN-1", "left", "2026-01-05")
    pathway.open("MRN-1", "right", "2026-01-05")
    message = refused(pathway, engine, 2, "advance", str(left), "amend", "--set", "side=right", "--set", "reason=x")
    assert "two open episodes on the right side" in message and "MRN" not in message
    message = refused(pathway, engine, 2, "advance", str(left), "amend", "--set", "reason=x")
    assert "at least one of" in message
    message = refused(pathway, engine, 2, "advance", str(left), "amend", "--set", "side=left", "--set", "reason=x")
    assert "already left" in message


# -- rights ----------------------------------------------------------------------------


def test_coordinators_correct_what_coordinators_record_and_clinicians_the_rest(site: Site) -> None:
    pathway = site.pathway
    eid = walked(pathway, 5, "MRN-1", "--as", "dr.kim")  # record_mri seq 5, confirm_diagnosis seq 6
    cora, kim = USERS["coordinator"], USERS["clinician"]
    done = pathway.json("--as", cora, "correct", str(eid), "5", "--set", "ifs_mm=12", "--reason", "typo")
    assert done["event"]["role"] == "coordinator"
    for args in (["void", str(eid), "6", "--reason", "x"],
                 ["correct", str(eid), "5", "--set", "ifs_mm=30", "--reason", "x", "--override", "y"]):  # fmt: skip
        result = site.as_(cora, *args)
        assert result.exit_code == 5, result.output
    for role in ("reviewer", "service", "admin"):
        assert site.as_(USERS[role], "correct", str(eid), "5", "--set", "ifs_mm=13", "--reason", "x").exit_code == 5
    assert pathway.json("--as", kim, "void", str(eid), "6", "--reason", "premature")["event"]["role"] == "clinician"
    # A step recorded with an override needs a clinician to change.
    over = pathway.json("--as", kim, "advance", str(eid), "confirm_diagnosis", "--on", "2026-01-26",
                        "--override", "typical")  # fmt: skip
    assert over["event"]["override_reason"] is None  # nothing failed: not an override
    assert site.as_(cora, "void", str(eid), str(over["event"]["seq"]), "--reason", "x").exit_code == 5


def test_refusals_for_rights_are_logged_without_patient_data(site: Site) -> None:
    pathway = site.pathway
    eid = walked(pathway, 5, "MRN-1", "--as", "dr.kim")
    result = site.as_(USERS["coordinator"], "void", str(eid), "6", "--reason", "x")
    assert result.exit_code == 5
    entry = site.log()[-1]
    assert (entry["action"], entry["outcome"]) == ("void", "refused")
    assert entry["detail"]["needs"] == ["void", "advance.confirm_diagnosis"]
    assert "MRN" not in json.dumps(entry["detail"])


# -- verification and exports ----------------------------------------------------------


def _verify(pathway: Pathway) -> dict[str, Any]:
    result = pathway("--json", "audit", "verify")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("UPDATE revisions SET status = 'effective', by_seq = NULL WHERE seq = 3", "revisions"),
        ("DELETE FROM revisions", "revisions"),
        ("UPDATE episodes SET state = 'mri_ordered'", "state differs"),
        ("UPDATE episodes SET last_event_on = '2026-01-09'", "latest event date differs"),
    ],
)
def test_audit_verify_holds_a_corrected_episode_to_its_replayed_history(
    pathway: Pathway, engine: sa.Engine, tamper: str, expected: str
) -> None:
    eid = walked(pathway, 3)  # order_mri (seq 4) after record_radiographs (seq 3)
    pathway.ok("correct", str(eid), "3", "--set", "result=equivocal", "--reason", "report says equivocal")
    pathway.ok("void", str(eid), "4", "--reason", "MRI not ordered yet")
    assert show(pathway, eid)["state"] == "radiographs_reported"
    assert _verify(pathway)["intact"]
    with engine.begin() as conn:
        conn.execute(sa.text(tamper))
    found = _verify(pathway)
    assert not found["intact"]
    (broken,) = found["broken"]
    assert broken["episode_id"] == eid and expected in broken["message"]


def test_pseudonymised_exports_withhold_what_corrections_say_in_free_text(pathway: Pathway, tmp_path: Any) -> None:
    eid = walked(pathway, 11)  # schedule_surgery is seq 12
    pathway.ok("correct", str(eid), "12", "--set", "planned_on=2026-06-03", "--reason", "Dr Who moved it")
    pathway.ok("advance", str(eid), "amend", "--set", "patient_ref=MRN-99", "--set", "reason=wrong patient")
    pathway.ok("correct", str(eid), "12", "--on", "2026-05-21", "--reason", "typo on 2026-05-21")
    key = tmp_path / "key"
    key.write_bytes(b"k" * 32)
    key.chmod(0o600)
    result = pathway("audit", "export", "--format", "jsonl", env={"PATHWAY_PSEUDONYM_KEY_FILE": str(key)})
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    text = result.stdout
    assert "Dr Who" not in text and "MRN" not in text and "2026-" not in text
    fields = {r["seq"]: r["fields"] for r in rows}
    assert fields[13]["set"] == {"planned_day": 149} and fields[13]["reason"] == "[free text withheld]"
    assert fields[14]["patient_ref"] == "[free text withheld]"
    assert fields[15]["occurred_day"] == 136 and fields[15]["reason"] == "[free text withheld]"
