"""The Timers table of PATHWAY.md as pure functions: which flags, anchored where, due when."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pathway.domain.timers import KINDS, ExpectedFlag, StoredFlag, clearing_triggers, expected_flags, reconcile
from tests.pathway_spec import History, rules

D = date(2026, 3, 2)


def days(n: int) -> date:
    return D + timedelta(days=n)


def expected(history: History, **rule_changes: object) -> list[ExpectedFlag]:
    snapshot = history.snapshot(rules(**rule_changes))
    return expected_flags(snapshot.state, snapshot.facts(), snapshot.rules)


def only(history: History, **rule_changes: object) -> ExpectedFlag:
    flags = expected(history, **rule_changes)
    assert len(flags) == 1, flags
    return flags[0]


def test_the_kinds_are_those_of_the_specification() -> None:
    assert set(KINDS) == {
        "radiograph_report", "mri_report", "workup_decision", "injection_response", "reassessment",
        "surgery_scheduling", "surgery_record", "postop_followup",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("build", "kind", "rule", "n"),
    [
        (lambda h: h.add("order_radiographs", D), "radiograph_report", "radiograph_report_overdue_days", 14),
        (lambda h: h.add("order_mri", D), "mri_report", "mri_report_overdue_days", 28),
        (
            lambda h: h.add("order_radiographs", days(-3)).add("record_radiographs", D, result="negative"),
            "workup_decision", "workup_decision_overdue_days", 14,
        ),
        (
            lambda h: h.add("order_mri", days(-9)).add(
                "record_mri", D, ifs_mm=12, qfs_mm=8, qf_edema=True, qf_fatty_replacement=False
            ),
            "workup_decision", "workup_decision_overdue_days", 14,
        ),
        (lambda h: h.diagnosed(D), "workup_decision", "workup_decision_overdue_days", 14),
        (
            lambda h: h.conservative(days(-30)).add("refer_to_surgery", D),
            "surgery_scheduling", "surgery_scheduling_overdue_days", 60,
        ),
    ],
)  # fmt: skip
def test_flags_without_a_due_day_are_due_when_overdue(build, kind: str, rule: str, n: int) -> None:  # type: ignore[no-untyped-def]
    flag = only(build(History()))
    assert (flag.kind, flag.anchor_on, flag.milestone) == (kind, D, 0)
    assert flag.due_on == flag.overdue_on == days(n)
    moved = only(build(History()), **{rule: n + 5})
    assert moved.overdue_on == days(n + 5), "timing comes from the pinned rule set"


def test_injection_response_is_anchored_on_the_injection() -> None:
    history = History().conservative(days(-40))
    history.add("inject", D, guidance="ultrasound", agent="corticosteroid_anaesthetic")
    flags = {f.kind: f for f in expected(history)}
    assert flags["injection_response"] == ExpectedFlag("injection_response", D, days(28), days(28))
    assert flags["reassessment"].anchor_on == days(-40), "the reassessment clock keeps running during an injection"


def test_reassessment_window_opens_at_90_and_is_overdue_at_180() -> None:
    flag = only(History().conservative(D))
    assert flag == ExpectedFlag("reassessment", D, days(90), days(180))


@pytest.mark.parametrize("outcome", ["improved", "persistent"])
def test_reassessment_window_restarts_after_a_reassessment(outcome: str) -> None:
    history = History().conservative(D).add("reassess", days(100), outcome=outcome, pain=5)
    assert only(history) == ExpectedFlag("reassessment", days(100), days(190), days(280))


def test_reassessment_window_restarts_after_return_to_conservative() -> None:
    history = History().conservative(D).add("reassess", days(95), outcome="persistent", pain=6)
    history.add("refer_to_surgery", days(96)).add("return_to_conservative", days(110), reason="declined")
    assert only(history).anchor_on == days(110)


def test_surgery_record_is_anchored_on_the_planned_date() -> None:
    history = History().conservative(days(-200)).add("refer_to_surgery", days(-20))
    history.add("schedule_surgery", days(-10), approach="endoscopic", planned_on=days(30).isoformat())
    assert only(history) == ExpectedFlag("surgery_record", days(30), days(44), days(44))


def _operated() -> History:
    history = History().conservative(days(-300)).add("refer_to_surgery", days(-60))
    history.add("schedule_surgery", days(-50), approach="endoscopic", planned_on=D.isoformat())
    return history.add("record_surgery", D, approach="endoscopic", sciatic_neurolysis=False)


def test_postop_followups_at_each_configured_day() -> None:
    flags = expected(_operated())
    assert [(f.milestone, f.due_on, f.overdue_on) for f in flags] == [
        (m, days(m), days(m + 14)) for m in (42, 90, 180, 365)
    ]
    assert {(f.kind, f.anchor_on) for f in flags} == {("postop_followup", D)}
    changed = expected(_operated(), postop_followup_days=[30, 60], followup_grace_days=7)
    assert [(f.milestone, f.overdue_on) for f in changed] == [(30, days(37)), (60, days(67))]


@pytest.mark.parametrize(("on", "met"), [(28, True), (27, False), (56, True), (57, False), (42, True)])
def test_a_followup_within_the_grace_either_side_meets_a_milestone(on: int, met: bool) -> None:
    history = _operated().add("record_followup", days(on), pain=3)
    milestones = [f.milestone for f in expected(history)]
    assert (42 not in milestones) is met
    assert {90, 180, 365} <= set(milestones)


def test_no_flags_where_no_timer_runs() -> None:
    assert expected(History()) == []  # referred
    assert expected(History().conservative(D).add("discharge", days(5), outcome="improved")) == []
    assert expected(History().add("close", D, reason="withdrawn")) == []


def test_clearing_triggers() -> None:
    assert clearing_triggers("workup_decision", "radiographs_reported") == ("order_mri", "confirm_diagnosis")
    assert clearing_triggers("workup_decision", "diagnosed") == ("start_conservative",)
    assert clearing_triggers("mri_report", "mri_ordered") == ("record_mri",)


def _stored(flag: ExpectedFlag, row_id: int, opened: bool) -> StoredFlag:
    return StoredFlag(row_id, flag.kind, flag.anchor_on, flag.milestone, flag.due_on, flag.overdue_on, opened)


def test_reconcile_inserts_keeps_resolves_and_drops() -> None:
    old = ExpectedFlag("reassessment", D, days(90), days(180))
    new = ExpectedFlag("reassessment", days(100), days(190), days(280))
    plan = reconcile([new], [_stored(old, 1, opened=True)], trigger="reassess", from_state="conservative_care",
                     today=days(100))  # fmt: skip
    assert (plan.insert, plan.resolve, plan.drop, plan.retime) == ([new], [(1, "satisfied")], [], [])
    plan = reconcile([], [_stored(old, 1, opened=True)], trigger="close", from_state="conservative_care", today=D)
    assert plan.resolve == [(1, "moved_on")]
    plan = reconcile([], [_stored(old, 1, opened=False)], trigger="close", from_state="conservative_care", today=D)
    assert (plan.resolve, plan.drop) == ([], [1]), "a deadline never opened is not a flag to resolve"
    assert not reconcile([old], [_stored(old, 1, opened=True)], trigger="amend", from_state="x", today=D)


def test_reconcile_retimes_a_flag_when_its_rules_change() -> None:
    stored = _stored(ExpectedFlag("mri_report", D, days(28), days(28)), 7, opened=True)
    later = ExpectedFlag("mri_report", D, days(42), days(42))
    plan = reconcile([later], [stored], trigger="migrate", from_state="mri_ordered", today=days(30))
    assert plan.retime == [(7, later, False)] and not plan.insert, "not due under the new rules: no longer open"
    sooner = ExpectedFlag("mri_report", D, days(21), days(21))
    plan = reconcile([sooner], [stored], trigger="migrate", from_state="mri_ordered", today=days(30))
    assert plan.retime == [(7, sooner, True)]
