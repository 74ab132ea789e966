"""Every guard on both sides of its boundary, through ``decide`` as the CLI uses it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pathway.domain.decisions import decide, options
from pathway.errors import Refused
from tests.pathway_spec import History, rules

START = date(2026, 2, 1)


def refused_guards(
    history: History, trigger: str, fields: dict[str, str], on: date, **rule_changes: object
) -> list[str]:
    """The guards that refuse ``trigger`` (empty when it is allowed)."""
    try:
        decide(history.snapshot(rules(**rule_changes)), trigger, fields, on, on)
    except Refused as refusal:
        return [v.guard for v in refusal.verdicts]
    return []


INJECT = {"guidance": "ultrasound", "agent": "corticosteroid_anaesthetic"}
ANAESTHETIC = {"guidance": "ultrasound", "agent": "anaesthetic_only"}


def test_order_mri_needs_a_radiograph_report() -> None:
    assert refused_guards(History(), "order_mri", {}, date(2026, 1, 6)) == ["radiographs_first"]
    h = History().add("order_radiographs", date(2026, 1, 6))
    assert refused_guards(h, "order_mri", {}, date(2026, 1, 7)) == ["radiographs_first"]
    h.add("record_radiographs", date(2026, 1, 8), result="equivocal")
    assert refused_guards(h, "order_mri", {}, date(2026, 1, 9)) == []


@pytest.mark.parametrize(
    ("ifs", "qfs", "edema", "fatty", "ok"),
    [
        (15, 12, True, False, True),  # IFS at the threshold
        (15.1, 12, True, False, False),  # just above, QFS not narrow either
        (20, 10, False, True, True),  # QFS at the threshold, fatty replacement
        (20, 10.1, True, True, False),
        (12, 8, False, False, False),  # narrow, but no muscle signal
    ],
)
def test_confirm_diagnosis_needs_narrowing_and_muscle_signal(
    ifs: float, qfs: float, edema: bool, fatty: bool, ok: bool
) -> None:
    h = History().add("order_mri", date(2026, 1, 6), to_state="mri_ordered")
    h.add("record_mri", date(2026, 1, 10), ifs_mm=ifs, qfs_mm=qfs, qf_edema=edema, qf_fatty_replacement=fatty)
    assert refused_guards(h, "confirm_diagnosis", {}, date(2026, 1, 11)) == ([] if ok else ["mri_supports_ifi"])


def test_mri_thresholds_come_from_the_pinned_rules() -> None:
    h = History().add("order_mri", date(2026, 1, 6), to_state="mri_ordered")
    h.add("record_mri", date(2026, 1, 10), ifs_mm=14, qfs_mm=12, qf_edema=True, qf_fatty_replacement=False)
    assert refused_guards(h, "confirm_diagnosis", {}, date(2026, 1, 11)) == []
    assert refused_guards(h, "confirm_diagnosis", {}, date(2026, 1, 11), mri_ifs_max_mm=13) == ["mri_supports_ifi"]


def test_confirming_from_radiographs_alone_needs_an_override() -> None:
    h = (
        History()
        .add("order_radiographs", date(2026, 1, 6))
        .add("record_radiographs", date(2026, 1, 8), result="suggestive_ifi")
    )
    assert refused_guards(h, "confirm_diagnosis", {}, date(2026, 1, 9)) == ["mri_supports_ifi"]
    decision = decide(
        h.snapshot(), "confirm_diagnosis", {}, date(2026, 1, 9), date(2026, 1, 9), "MRI contraindicated: pacemaker"
    )
    assert decision.to_state == "diagnosed"
    assert decision.overridden == ["mri_supports_ifi"]


def test_injection_guidance_must_be_allowed_by_the_rules() -> None:
    h = History().conservative(START)
    ct = {"guidance": "ct", "agent": "corticosteroid_anaesthetic"}
    assert refused_guards(h, "inject", ct, START + timedelta(days=5)) == ["injection_guidance_allowed"]
    assert (
        refused_guards(h, "inject", ct, START + timedelta(days=5), injection_guidance_allowed=["ultrasound", "ct"])
        == []
    )


@pytest.mark.parametrize(("relief", "ok"), [("temporary", True), ("none", False), ("sustained", False)])
def test_repeat_injection_only_after_temporary_relief(relief: str, ok: bool) -> None:
    h = History().conservative(START).injection(START + timedelta(days=10), relief=relief)
    assert refused_guards(h, "inject", INJECT, START + timedelta(days=100)) == (
        [] if ok else ["repeat_injection_after_temporary_relief"]
    )


def test_corticosteroid_interval_day_41_and_42() -> None:
    first = START + timedelta(days=5)
    h = History().conservative(START).injection(first)
    assert refused_guards(h, "inject", INJECT, first + timedelta(days=41)) == ["injection_min_interval_days"]
    assert refused_guards(h, "inject", INJECT, first + timedelta(days=42)) == []
    # An anaesthetic-only injection is not a corticosteroid one.
    assert refused_guards(h, "inject", ANAESTHETIC, first + timedelta(days=3)) == []


def test_third_corticosteroid_injection_in_365_days_is_allowed_the_fourth_is_not() -> None:
    day0 = START + timedelta(days=5)
    h = History().conservative(START).injection(day0).injection(day0 + timedelta(days=60))
    assert refused_guards(h, "inject", INJECT, day0 + timedelta(days=120)) == []  # third
    h.injection(day0 + timedelta(days=120))
    assert refused_guards(h, "inject", INJECT, day0 + timedelta(days=200)) == ["injection_max_per_365_days"]  # fourth
    assert refused_guards(h, "inject", INJECT, day0 + timedelta(days=364)) == ["injection_max_per_365_days"]
    assert refused_guards(h, "inject", INJECT, day0 + timedelta(days=365)) == []  # the first has dropped out
    assert refused_guards(h, "inject", ANAESTHETIC, day0 + timedelta(days=200)) == []


def test_reassessment_opens_on_day_90_of_its_anchor() -> None:
    h = History().conservative(START)
    fields = {"outcome": "improved", "pain": "4"}
    assert refused_guards(h, "reassess", fields, START + timedelta(days=89)) == ["reassessment_window_open_days"]
    assert refused_guards(h, "reassess", fields, START + timedelta(days=90)) == []


def test_an_improved_reassessment_restarts_the_window() -> None:
    h = History().conservative(START).add("reassess", START + timedelta(days=95), outcome="improved", pain=4)
    fields = {"outcome": "persistent", "pain": "5"}
    assert refused_guards(h, "reassess", fields, START + timedelta(days=95 + 89)) == ["reassessment_window_open_days"]
    assert refused_guards(h, "reassess", fields, START + timedelta(days=95 + 90)) == []


def test_resolved_reassessment_discharges() -> None:
    h = History().conservative(START)
    decision = decide(
        h.snapshot(),
        "reassess",
        {"outcome": "resolved", "pain": "0"},
        START + timedelta(days=90),
        START + timedelta(days=90),
    )
    assert decision.to_state == "discharged"


def test_surgery_on_day_89_and_90_of_conservative_care() -> None:
    h = History().conservative(START).injection(START + timedelta(days=10))
    h.add("reassess", START + timedelta(days=89), outcome="persistent", pain=7, to_state="conservative_care")
    assert refused_guards(h, "refer_to_surgery", {}, START + timedelta(days=89)) == ["conservative_min_days"]
    assert refused_guards(h, "refer_to_surgery", {}, START + timedelta(days=90)) == []


@pytest.mark.parametrize(("outcome", "ok"), [("persistent", True), ("improved", False)])
def test_surgery_needs_the_latest_reassessment_persistent(outcome: str, ok: bool) -> None:
    h = History().conservative(START).injection(START + timedelta(days=10))
    h.add("reassess", START + timedelta(days=90), outcome="persistent", pain=7)
    h.add("reassess", START + timedelta(days=180), outcome=outcome, pain=5)
    assert refused_guards(h, "refer_to_surgery", {}, START + timedelta(days=181)) == (
        [] if ok else ["latest_reassessment_persistent"]
    )


def test_surgery_needs_an_injection_unless_the_rules_say_otherwise() -> None:
    h = History().conservative(START).add("reassess", START + timedelta(days=90), outcome="persistent", pain=7)
    on = START + timedelta(days=95)
    assert refused_guards(h, "refer_to_surgery", {}, on) == [
        "surgery_requires_injection",
        "surgery_requires_positive_diagnostic_injection",
    ]
    assert (
        refused_guards(
            h,
            "refer_to_surgery",
            {},
            on,
            surgery_requires_injection=False,
            surgery_requires_positive_diagnostic_injection=False,
        )
        == []
    )


@pytest.mark.parametrize(("before", "after", "ok"), [(10, 5, True), (10, 6, False), (8, 4, True), (0, 0, False)])
def test_positive_diagnostic_response_is_at_least_50_percent(before: int, after: int, ok: bool) -> None:
    h = History().conservative(START).injection(START + timedelta(days=10), before=before, after=after)
    h.add("reassess", START + timedelta(days=90), outcome="persistent", pain=7)
    expected = [] if ok else ["surgery_requires_positive_diagnostic_injection"]
    assert refused_guards(h, "refer_to_surgery", {}, START + timedelta(days=95)) == expected


def test_every_failing_guard_is_named_with_its_numbers() -> None:
    h = History().conservative(START)
    with pytest.raises(Refused) as refusal:
        decide(h.snapshot(), "refer_to_surgery", {}, START + timedelta(days=61), START + timedelta(days=61))
    reasons = refusal.value.details
    assert len(reasons) == 4
    assert "conservative care began 2026-02-01, 61 days ago; surgery needs at least 90 days" in reasons[0]


def test_open_decompression_includes_sciatic_neurolysis() -> None:
    h = History().conservative(START).injection(START + timedelta(days=10))
    h.add("reassess", START + timedelta(days=90), outcome="persistent", pain=7)
    h.add("refer_to_surgery", START + timedelta(days=91)).add(
        "schedule_surgery",
        START + timedelta(days=92),
        approach="open",
        open_indication="severe",
        planned_on="2026-06-01",
    )
    on = date(2026, 6, 1)
    assert refused_guards(h, "record_surgery", {"approach": "open", "sciatic_neurolysis": "false"}, on) == [
        "open_includes_neurolysis"
    ]
    assert refused_guards(h, "record_surgery", {"approach": "open", "sciatic_neurolysis": "true"}, on) == []
    assert refused_guards(h, "record_surgery", {"approach": "endoscopic", "sciatic_neurolysis": "false"}, on) == []


def test_next_lists_refusals_with_reasons_and_the_usual_injection() -> None:
    first = START + timedelta(days=5)
    h = History().conservative(START).injection(first)
    by_trigger = {o.trigger: o for o in options(h.snapshot(), first + timedelta(days=30))}
    assert not by_trigger["inject"].allowed
    assert any("42 days" in reason for reason in by_trigger["inject"].reasons)
    assert not by_trigger["reassess"].allowed
    assert by_trigger["record_followup"].allowed and by_trigger["record_followup"].reasons == []
    assert set(by_trigger) == {
        "inject",
        "record_followup",
        "reassess",
        "refer_to_surgery",
        "discharge",
        "close",
        "amend",
    }
