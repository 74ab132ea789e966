"""`pathway audit export --format fhir`: Bulk Data NDJSON that validates as FHIR R4 (R4B models)."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from pathway.exports.fhir import TYPES
from tests.cli.test_audit_export import NOW, build_trail
from tests.conftest import Pathway

# Value sets of the coded elements used (required bindings); fhir.resources checks types, not codes.
EPISODE_STATUS = {"planned", "waitlist", "active", "onhold", "finished", "cancelled", "entered-in-error"}
CLINICAL = {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
VERIFICATION = {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}
CAREPLAN_STATUS = {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
ACTIVITY_STATUS = {"not-started", "scheduled", "in-progress", "on-hold", "completed", "cancelled", "stopped",
                   "unknown", "entered-in-error"}  # fmt: skip
PROCEDURE_STATUS = {"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error",
                    "unknown"}  # fmt: skip
OBSERVATION_STATUS = {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error",
                      "unknown"}  # fmt: skip


def fhir_export(pathway: Pathway, out: Path, *args: str) -> dict[str, list[dict[str, Any]]]:
    with freeze_time(NOW):
        result = pathway("audit", "export", "--format", "fhir", "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.ndjson" for t in TYPES)
    return {t: [json.loads(line) for line in (out / f"{t}.ndjson").read_text().splitlines()] for t in TYPES}


def validate(resources: dict[str, list[dict[str, Any]]]) -> None:
    for kind, items in resources.items():
        model = getattr(importlib.import_module(f"fhir.resources.R4B.{kind.lower()}"), kind)
        for item in items:
            model.model_validate(item)  # raises on any structural error


def by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in items}


@pytest.mark.parametrize("identified", [False, True], ids=["pseudonymised", "identified"])
def test_every_resource_validates_and_codes_are_in_their_value_sets(
    pathway: Pathway, tmp_path: Path, identified: bool
) -> None:
    build_trail(pathway)
    res = fhir_export(pathway, tmp_path / "fhir", *(("--identified",) if identified else ()))
    validate(res)
    assert len(res["Provenance"]) == 20 and len(res["EpisodeOfCare"]) == 3 and len(res["Condition"]) == 3
    for r in res["EpisodeOfCare"]:
        assert r["status"] in EPISODE_STATUS and {h["status"] for h in r["statusHistory"]} <= EPISODE_STATUS
    for r in res["Condition"]:
        assert r["verificationStatus"]["coding"][0]["code"] in VERIFICATION
        assert "clinicalStatus" not in r or r["clinicalStatus"]["coding"][0]["code"] in CLINICAL
    for r in res["CarePlan"]:
        assert r["status"] in CAREPLAN_STATUS and r["intent"] == "plan"
        assert {a["detail"]["status"] for a in r["activity"]} <= ACTIVITY_STATUS
    assert {r["status"] for r in res["Procedure"]} <= PROCEDURE_STATUS
    assert {r["status"] for r in res["Observation"]} <= OBSERVATION_STATUS


def test_the_episodes_map_to_fhir_as_a_clinician_expects(pathway: Pathway, tmp_path: Path) -> None:
    build_trail(pathway)
    res = fhir_export(pathway, tmp_path / "fhir", "--identified")
    episodes = by_id(res["EpisodeOfCare"])
    assert [episodes[f"episode-{i}"]["status"] for i in (1, 2, 3)] == ["finished", "cancelled", "planned"]
    assert episodes["episode-1"]["period"] == {"start": "2026-01-05", "end": "2026-12-01"}
    assert episodes["episode-1"]["patient"]["identifier"]["value"] == "MRN-A"
    history = episodes["episode-1"]["statusHistory"]
    assert [h["status"] for h in history] == ["planned", "active", "finished"]
    assert history[1]["period"] == {"start": "2026-01-06", "end": "2026-12-01"}

    conditions = by_id(res["Condition"])
    operated, closed, referred = (conditions[f"episode-{i}-condition"] for i in (1, 2, 3))
    assert operated["code"] == {"text": "Ischiofemoral impingement"}  # no code system has one
    assert operated["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert operated["clinicalStatus"]["coding"][0]["code"] == "active"  # discharged improved, not resolved
    assert closed["verificationStatus"]["coding"][0]["code"] == "refuted" and "clinicalStatus" not in closed
    assert referred["verificationStatus"]["coding"][0]["code"] == "provisional"
    laterality = operated["bodySite"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]
    assert (laterality["system"], laterality["code"]) == ("http://snomed.info/sct", "7771000")  # left
    assert (
        conditions["episode-2-condition"]["bodySite"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
        == "24028007"
    )  # right
    assert len(operated["evidence"][0]["detail"]) == 2  # the MRI spaces

    plan = by_id(res["CarePlan"])["episode-1-careplan"]
    assert plan["status"] == "completed" and plan["period"] == {"start": "2026-02-01"}
    surgery = plan["activity"][-1]["detail"]
    assert surgery["status"] == "completed" and surgery["scheduledPeriod"] == {"start": "2026-06-01"}

    procedures = by_id(res["Procedure"])
    injection, operation = procedures["episode-1-event-8"], procedures["episode-1-event-14"]
    assert injection["code"]["text"] == "Ultrasound-guided injection of the ischiofemoral space"
    assert injection["outcome"]["text"] == "temporary relief; pain 8 to 3 (62.5% reduction)"
    assert operation["code"]["text"] == "Open ischiofemoral decompression with sciatic nerve neurolysis"
    assert operation["performedDateTime"] == "2026-06-01"

    observations = by_id(res["Observation"])
    pain = observations["episode-1-event-7-pain"]
    assert pain["code"]["coding"][0]["code"] == "72514-3" and pain["valueQuantity"]["value"] == 7
    assert observations["episode-1-event-7-mhhs"]["valueQuantity"]["value"] == 50
    assert observations["episode-1-event-5-ifs-mm"]["valueQuantity"] == {
        "value": 12, "unit": "mm", "system": "http://unitsofmeasure.org", "code": "mm"
    }  # fmt: skip
    assert observations["episode-1-event-9-pain-before"]["partOf"] == [{"reference": "Procedure/episode-1-event-8"}]
    assert observations["episode-1-event-16-pain"]["valueQuantity"]["value"] == 2  # at discharge

    provenance = by_id(res["Provenance"])["episode-2-event-2"]
    assert provenance["reason"][0]["text"] == "override of radiographs_first: MRI already done for Mr Jones"
    assert provenance["activity"]["text"] == "order_mri" and provenance["occurredDateTime"] == "2026-02-03"
    assert provenance["recorded"] == "2027-01-10T12:00:00Z"
    hashes = [e["valueString"] for e in provenance["extension"]]
    first = by_id(res["Provenance"])["episode-2-event-1"]["extension"][0]["valueString"]
    assert hashes[1] == first  # the chain links survive the export


def test_pseudonymised_fhir_has_no_identifier_date_or_free_text(pathway: Pathway, tmp_path: Path) -> None:
    build_trail(pathway)
    out = tmp_path / "fhir"
    res = fhir_export(pathway, out)
    text = "".join(p.read_text() for p in out.iterdir())
    assert "MRN" not in text and "Jones" not in text and "Smith" not in text
    assert not re.search(r"20\d\d-\d\d-\d\d", text)  # dates are day numbers from 1900-01-01
    episode = by_id(res["EpisodeOfCare"])["episode-1"]
    assert episode["period"] == {"start": "1900-01-01", "end": "1900-11-27"}  # day 330
    assert episode["meta"]["security"][0]["code"] == "PSEUDED"
    assert re.fullmatch(r"[0-9a-f]{32}", episode["patient"]["identifier"]["value"])
    reason = by_id(res["Provenance"])["episode-2-event-2"]["reason"][0]["text"]
    assert reason == "override of radiographs_first: [free text withheld]"


def test_the_period_limits_event_resources_not_episode_state(pathway: Pathway, tmp_path: Path) -> None:
    build_trail(pathway)
    res = fhir_export(pathway, tmp_path / "fhir", "--identified", "--since", "2026-02-10", "--until", "2026-02-28")
    assert [r["id"] for r in res["Provenance"]] == ["episode-1-event-8", "episode-1-event-9", "episode-2-event-3"]
    episodes = by_id(res["EpisodeOfCare"])
    assert sorted(episodes) == ["episode-1", "episode-2"]  # episode 3 has no event in the period
    assert episodes["episode-1"]["status"] == "active"  # as it stood at the end of the period


def test_a_fhir_export_replaces_an_earlier_one_but_nothing_else(pathway: Pathway, tmp_path: Path) -> None:
    build_trail(pathway)
    out = tmp_path / "fhir"
    fhir_export(pathway, out)
    first = (out / "Provenance.ndjson").read_text()
    fhir_export(pathway, out, "--identified")
    assert (out / "Provenance.ndjson").read_text() != first
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    (out / "notes.txt").write_text("mine")
    result = pathway("audit", "export", "--format", "fhir", "--out", str(out))
    assert result.exit_code == 2 and "choose a new or empty folder" in result.stderr
    assert (out / "notes.txt").read_text() == "mine"


def references(value: Any) -> list[str]:
    """Every ``reference`` value anywhere in a resource (walked independently of the exporter)."""
    text = json.dumps(value)
    return re.findall(r'"reference": "([^"]+)"', text)


def dangling(resources: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str]]:
    """(resource, reference) for every reference that names no resource of the export."""
    present = {f"{kind}/{r['id']}" for kind, items in resources.items() for r in items}
    return [(f"{kind}/{r['id']}", ref) for kind, items in resources.items() for r in items
            for ref in references(r) if ref not in present]  # fmt: skip


@pytest.mark.parametrize("period", [
    (), ("--since", "2026-02-16", "--until", "2026-02-28"), ("--since", "2026-02-01", "--until", "2026-02-15"),
    ("--since", "2026-05-06"), ("--until", "2026-01-10"), ("--since", "2026-07-01", "--until", "2026-07-31"),
], ids=["whole", "response-after-injection", "injection-not-response", "surgery-on", "work-up", "follow-up"])  # fmt: skip
def test_every_reference_resolves_inside_the_export(pathway: Pathway, tmp_path: Path, period: tuple[str, ...]) -> None:
    build_trail(pathway)
    for identified in ((), ("--identified",)):
        res = fhir_export(pathway, tmp_path / f"fhir{len(identified)}", *identified, *period)
        assert res["Condition"], "every period here holds events"
        assert dangling(res) == []
        validate(res)


def test_a_period_export_includes_the_earlier_resources_it_refers_to(pathway: Pathway, tmp_path: Path) -> None:
    build_trail(pathway)
    res = fhir_export(pathway, tmp_path / "fhir", "--identified", "--since", "2026-02-16", "--until", "2026-02-28")
    assert [r["id"] for r in res["Provenance"]] == ["episode-1-event-9", "episode-2-event-3"]  # the period's events
    procedures = by_id(res["Procedure"])
    assert list(procedures) == ["episode-1-event-8"]  # the injection of 2026-02-15 its response is part of
    observations = by_id(res["Observation"])
    assert {"episode-1-event-5-ifs-mm", "episode-1-event-5-qfs-mm"} <= set(observations)  # the Condition's evidence
    assert "episode-1-event-7-pain" not in observations  # nothing refers to the baseline pain
