"""A whole episode from referral to discharge through the CLI, as a coordinator runs it."""

from __future__ import annotations

import json

from freezegun import freeze_time

from tests.conftest import Pathway


@freeze_time("2026-11-20 09:00:00")
def test_referral_to_discharge(pathway: Pathway) -> None:
    eid = pathway.open("MRN-0042", "right", "2026-01-05")
    steps = [
        ("order_radiographs", "2026-01-06", []),
        ("record_radiographs", "2026-01-12", ["result=negative"]),
        ("order_mri", "2026-01-13", []),
        (
            "record_mri",
            "2026-01-30",
            ["ifs_mm=12.5", "qfs_mm=8", "qf_edema=true", "qf_fatty_replacement=false", "positioning=neutral, supine"],
        ),
        ("confirm_diagnosis", "2026-02-02", []),
        ("start_conservative", "2026-02-03", ["components=nsaids,physical_therapy", "pain=7", "mhhs=52.5"]),
        ("inject", "2026-02-20", ["guidance=ultrasound", "agent=corticosteroid_anaesthetic"]),
        ("record_injection_response", "2026-03-05", ["pain_before=7", "pain_after=2", "relief=temporary"]),
        ("record_followup", "2026-03-20", ["pain=5", "note=sleeping better"]),
        ("reassess", "2026-05-04", ["outcome=persistent", "pain=6", "mhhs=55"]),
        ("refer_to_surgery", "2026-05-10", []),
        ("return_to_conservative", "2026-05-20", ["reason=patient wants to wait"]),
        ("reassess", "2026-08-18", ["outcome=persistent", "pain=6"]),
        ("refer_to_surgery", "2026-08-20", []),
        ("schedule_surgery", "2026-08-25", ["approach=open", "open_indication=complex", "planned_on=2026-09-15"]),
        ("record_surgery", "2026-09-14", ["approach=open", "sciatic_neurolysis=true"]),
        ("record_followup", "2026-10-26", ["pain=2", "mhhs=80"]),
        ("discharge", "2026-11-20", ["outcome=improved", "pain=1", "mhhs=88.5"]),
    ]
    for trigger, on, sets in steps:
        result = pathway.advance(eid, trigger, on, *sets)
        assert result.exit_code == 0, (trigger, result.output)

    episode = pathway.json("episode", "show", str(eid))
    assert episode["state"] == "discharged"
    assert episode["version"] == len(steps) + 1 == episode["event_count"]
    assert {k: episode[k] for k in ("id", "patient_ref", "side", "rules_version")} == {
        "id": eid, "patient_ref": "MRN-0042", "side": "right", "rules_version": 1,
    }  # fmt: skip

    history = pathway.json("episode", "history", str(eid))
    assert [e["trigger"] for e in history] == ["open"] + [s[0] for s in steps]
    assert [e["seq"] for e in history] == list(range(1, len(steps) + 2))
    response = history[8]
    assert response["fields"] == {"pain_before": 7, "pain_after": 2, "relief": "temporary", "pain_reduction_pct": 71.4}
    assert all(e["actor"] == "tester" for e in history)
    assert history[6]["fields"]["components"] == ["nsaids", "physical_therapy"]
    assert history[-1]["from_state"] == "post_operative" and history[-1]["to_state"] == "discharged"

    assert pathway.json("next", str(eid)) == {"id": eid, "state": "discharged", "as_of": "2026-11-20", "triggers": []}
    text = pathway.ok("episode", "history", str(eid)).stdout
    assert "record_injection_response" in text and "pain_reduction_pct=71.4" in text


@freeze_time("2026-05-01 09:00:00")
def test_next_explains_what_is_refused_and_why(pathway: Pathway) -> None:
    eid = pathway.open("MRN-7", "left", "2026-01-05")
    for trigger, on, sets in [
        ("order_radiographs", "2026-01-06", []),
        ("record_radiographs", "2026-01-08", ["result=equivocal"]),
        ("confirm_diagnosis", "2026-01-09", []),
    ]:
        result = pathway.advance(eid, trigger, on, *sets)
        if trigger == "confirm_diagnosis":
            assert result.exit_code == 1
            assert "mri" in result.stderr.lower() and "--override" in result.stderr
    nxt = pathway.json("next", str(eid))
    assert set(nxt) >= {"triggers"}
    rows = {t["trigger"]: t for t in nxt["triggers"]}
    assert set(rows) == {"order_mri", "confirm_diagnosis", "close", "amend"}
    assert rows["order_mri"] == {**rows["order_mri"], "allowed": True, "reasons": []}
    assert rows["confirm_diagnosis"]["allowed"] is False
    assert "no MRI report is recorded" in rows["confirm_diagnosis"]["reasons"][0]
    human = pathway.ok("next", str(eid)).stdout
    assert "confirm_diagnosis" in human and "no MRI report" in human
    assert json.loads(pathway("--json", "next", str(eid)).stdout)["state"] == "radiographs_reported"
