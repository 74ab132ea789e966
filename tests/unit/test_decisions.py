"""``decide``: every trigger from every state, input checks, event dates, overrides."""

from __future__ import annotations

from datetime import date

import pytest

from pathway.domain.decisions import EpisodeSnapshot, decide, parse_assignments
from pathway.domain.machine import pathway_machine
from pathway.domain.triggers import TRIGGERS
from pathway.errors import InvalidInput
from tests.pathway_spec import STATES, TRANSITIONS, VALID_FIELDS, rules

TODAY = date(2026, 12, 1)


def bare(state: str, arthroplasty: bool = False) -> EpisodeSnapshot:
    return EpisodeSnapshot(1, state, date(2026, 1, 5), arthroplasty, rules(), [])


def test_the_machine_has_exactly_the_specified_states_and_triggers() -> None:
    machine = pathway_machine()
    assert list(machine.states) == STATES
    assert set(machine.events) == set(TRIGGERS) == set(TRANSITIONS)


@pytest.mark.parametrize(("trigger", "source"), [(t, s) for t, edges in TRANSITIONS.items() for s in edges])
def test_every_trigger_fires_from_each_of_its_states(trigger: str, source: str) -> None:
    """Guards aside (overridden here), each edge of PATHWAY.md leads where it says."""
    decision = decide(bare(source), trigger, VALID_FIELDS.get(trigger, {}), TODAY, TODAY, override_reason="test")
    assert decision.to_state == TRANSITIONS[trigger][source]


@pytest.mark.parametrize(
    ("trigger", "source"), [(t, s) for t, edges in TRANSITIONS.items() for s in STATES if s not in edges]
)
def test_no_trigger_fires_from_other_states(trigger: str, source: str) -> None:
    with pytest.raises(InvalidInput):
        decide(bare(source), trigger, VALID_FIELDS.get(trigger, {}), TODAY, TODAY, override_reason="test")


def test_wrong_state_names_what_is_possible() -> None:
    with pytest.raises(
        InvalidInput, match="not possible from state diagnosed; possible now: start_conservative, close, amend"
    ):
        decide(bare("diagnosed"), "inject", VALID_FIELDS["inject"], TODAY, TODAY)


def test_unknown_trigger() -> None:
    with pytest.raises(InvalidInput, match="no trigger 'operate'"):
        decide(bare("referred"), "operate", {}, TODAY, TODAY)


def test_unknown_and_missing_fields_are_all_reported() -> None:
    with pytest.raises(InvalidInput) as error:
        decide(bare("conservative_care"), "inject", {"guidance": "ultrasound", "dose": "40"}, TODAY, TODAY)
    assert "no field 'dose'" in error.value.message
    assert "needs agent" in error.value.message


def test_bad_values_name_the_field_and_the_range() -> None:
    with pytest.raises(InvalidInput, match="pain must be from 0 to 10; 11 is out of range"):
        decide(bare("conservative_care"), "record_followup", {"pain": "11"}, TODAY, TODAY)


def test_event_date_cannot_be_in_the_future_or_before_the_latest_event() -> None:
    with pytest.raises(InvalidInput, match="after today"):
        decide(bare("referred"), "order_radiographs", {}, date(2026, 12, 2), TODAY)
    with pytest.raises(InvalidInput, match="before this episode's latest clinical date"):
        decide(bare("referred"), "order_radiographs", {}, date(2026, 1, 4), TODAY)
    assert decide(bare("referred"), "order_radiographs", {}, date(2026, 1, 5), TODAY).occurred_on == date(2026, 1, 5)
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        decide(bare("referred"), "order_radiographs", {}, "5 Jan", TODAY)


def test_event_date_defaults_to_today() -> None:
    assert decide(bare("referred"), "order_radiographs", {}, None, TODAY).occurred_on == TODAY


def test_schedule_surgery_open_indication_rules() -> None:
    source = bare("surgical_referral")
    with pytest.raises(InvalidInput, match="open approach needs open_indication"):
        decide(source, "schedule_surgery", {"approach": "open", "planned_on": "2027-01-01"}, TODAY, TODAY)
    with pytest.raises(InvalidInput, match="only to an open approach"):
        decide(
            source,
            "schedule_surgery",
            {"approach": "endoscopic", "open_indication": "severe", "planned_on": "2027-01-01"},
            TODAY,
            TODAY,
        )
    with pytest.raises(InvalidInput, match="before the scheduling date"):
        decide(source, "schedule_surgery", {"approach": "endoscopic", "planned_on": "2026-11-30"}, TODAY, TODAY)
    decision = decide(
        source,
        "schedule_surgery",
        {"approach": "open", "open_indication": "complex", "planned_on": "2027-03-01"},
        TODAY,
        TODAY,
    )
    assert decision.fields["planned_on"] == "2027-03-01"


def test_close_with_alternative_diagnosis() -> None:
    with pytest.raises(InvalidInput, match="needs a diagnosis"):
        decide(bare("diagnosed"), "close", {"reason": "alternative_diagnosis"}, TODAY, TODAY)
    with pytest.raises(InvalidInput, match="only with reason alternative_diagnosis"):
        decide(bare("diagnosed"), "close", {"reason": "withdrawn", "diagnosis": "other"}, TODAY, TODAY)
    metal = {"reason": "alternative_diagnosis", "diagnosis": "adverse_reaction_to_metal_debris"}
    with pytest.raises(InvalidInput, match="needs a hip arthroplasty"):
        decide(bare("diagnosed"), "close", metal, TODAY, TODAY)
    assert decide(bare("diagnosed", arthroplasty=True), "close", metal, TODAY, TODAY).to_state == "closed"


def test_amend_changes_the_attribute_and_refuses_a_no_op() -> None:
    decision = decide(
        bare("diagnosed"), "amend", {"has_hip_arthroplasty": "true", "reason": "found on review"}, TODAY, TODAY
    )
    assert decision.attribute_changes == {"has_hip_arthroplasty": True}
    assert decision.to_state == "diagnosed"
    with pytest.raises(InvalidInput, match="already false"):
        decide(bare("diagnosed"), "amend", {"has_hip_arthroplasty": "false", "reason": "check"}, TODAY, TODAY)


@pytest.mark.parametrize(("before", "after", "pct"), [(8, 2, 75.0), (7, 2, 71.4), (3, 4, -33.3), (0, 0, None)])
def test_pain_reduction_is_computed_to_one_decimal(before: int, after: int, pct: float | None) -> None:
    fields = {"pain_before": str(before), "pain_after": str(after), "relief": "none"}
    decision = decide(bare("injection_done"), "record_injection_response", fields, TODAY, TODAY)
    assert decision.fields["pain_reduction_pct"] == pct


def test_start_conservative_defaults_to_every_component() -> None:
    decision = decide(bare("diagnosed"), "start_conservative", {}, TODAY, TODAY)
    assert decision.fields == {"components": ["activity_modification", "nsaids", "physical_therapy"]}


def test_an_override_is_recorded_only_when_a_guard_failed() -> None:
    refused = decide(bare("referred"), "order_mri", {}, TODAY, TODAY, override_reason="urgent: suspected tumour")
    assert refused.overridden == ["radiographs_first"] and refused.override_reason == "urgent: suspected tumour"
    unneeded = decide(bare("referred"), "order_radiographs", {}, TODAY, TODAY, override_reason="just in case")
    assert unneeded.override_reason is None and unneeded.override_unused


def test_an_override_cannot_bypass_input_checks() -> None:
    with pytest.raises(InvalidInput):
        decide(bare("conservative_care"), "record_followup", {"pain": "12"}, TODAY, TODAY, override_reason="trust me")
    with pytest.raises(InvalidInput):
        decide(bare("referred"), "order_radiographs", {}, date(2027, 1, 1), TODAY, override_reason="trust me")
    with pytest.raises(InvalidInput, match="override reason must not be empty"):
        decide(bare("referred"), "order_mri", {}, TODAY, TODAY, override_reason="  ")


def test_assignments() -> None:
    assert parse_assignments(["pain=4", "note=a=b"]) == {"pain": "4", "note": "a=b"}
    for bad in (["pain"], ["=4"], ["pain=4", "pain=5"]):
        with pytest.raises(InvalidInput):
            parse_assignments(bad)
