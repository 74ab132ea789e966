"""What moving an episode to other rules changes for it, judged with the engine's own guards."""

from __future__ import annotations

from datetime import date

from pathway.domain.rule_impact import SECTIONS, impact, outlook
from tests.pathway_spec import History, rules

TODAY = date(2026, 2, 20)


def injected() -> History:
    return History().conservative(date(2026, 1, 10)).injection(date(2026, 2, 1))


def test_a_longer_injection_interval_moves_the_next_injection_later() -> None:
    changes = impact(injected().snapshot(), rules(injection_min_interval_days=84), TODAY)["guards"]
    assert [(c["trigger"], c["guard"]) for c in changes] == [("inject", "injection_min_interval_days")]
    change = changes[0]
    assert change["before"]["allowed_from"] == "2026-03-15" and change["after"]["allowed_from"] == "2026-04-26"
    assert change["summary"].startswith("allowed from 2026-04-26 instead of 2026-03-15 (later)")


def test_a_guard_that_time_cannot_change_has_no_date() -> None:
    view = outlook(injected().snapshot(), TODAY)
    persistent = view[("refer_to_surgery", "latest_reassessment_persistent")]
    assert persistent.passed is False and persistent.allowed_from is None
    minimum = view[("refer_to_surgery", "conservative_min_days")]
    assert minimum.allowed_from == date(2026, 4, 10)  # 90 days after 2026-01-10


def test_the_yearly_injection_limit_frees_a_day_a_year_after_the_oldest_counted() -> None:
    history = History().conservative(date(2025, 3, 1))
    for day in (date(2025, 3, 10), date(2025, 5, 1), date(2025, 7, 1)):
        history.injection(day)
    view = outlook(history.snapshot(), date(2025, 9, 1))
    assert view[("inject", "injection_max_per_365_days")].allowed_from == date(2026, 3, 10)
    looser = impact(history.snapshot(), rules(injection_max_per_365_days=4), date(2025, 9, 1))["guards"]
    assert [(c["guard"], c["before"]["passed"], c["after"]["passed"]) for c in looser] == [
        ("injection_max_per_365_days", False, True)
    ]
    assert looser[0]["summary"].startswith("now passes (was refused)")


def test_identical_rules_change_nothing_and_every_section_is_reported() -> None:
    result = impact(injected().snapshot(), rules(), TODAY)
    assert result == {name: [] for name, _ in SECTIONS}


def test_a_stricter_mri_threshold_refuses_a_diagnosis_that_passed() -> None:
    history = History()
    history.add("order_radiographs", date(2026, 1, 6)).add("record_radiographs", date(2026, 1, 6), result="negative")
    history.add("order_mri", date(2026, 1, 7))
    history.add("record_mri", date(2026, 1, 9), ifs_mm=14, qfs_mm=12, qf_edema=True, qf_fatty_replacement=False)
    changes = impact(history.snapshot(), rules(mri_ifs_max_mm=13), TODAY)["guards"]
    assert [(c["guard"], c["before"]["passed"], c["after"]["passed"], c["after"]["allowed_from"]) for c in changes] == [
        ("mri_supports_ifi", True, False, None)
    ]
    assert changes[0]["summary"].startswith("now refused: MRI does not support IFI")


def test_a_later_reassessment_window_moves_the_reassessment_flag() -> None:
    changes = impact(injected().snapshot(), rules(reassessment_window_open_days=120), TODAY)["timers"]
    assert changes == [
        {
            "kind": "reassessment",
            "milestone": None,
            "before": {"due_on": "2026-04-10", "overdue_on": "2026-07-09"},
            "after": {"due_on": "2026-05-10", "overdue_on": "2026-07-09"},
            "summary": "reassessment: due 2026-04-10 -> 2026-05-10 (later)",
        }
    ]


def test_an_extra_follow_up_milestone_appears_as_a_new_timer() -> None:
    history = injected().add("reassess", date(2026, 4, 10), outcome="persistent", pain=7)
    history.add("refer_to_surgery", date(2026, 4, 11))
    history.add("schedule_surgery", date(2026, 4, 12), approach="endoscopic", planned_on="2026-05-01")
    history.add("record_surgery", date(2026, 5, 1), approach="endoscopic", sciatic_neurolysis=False)
    changes = impact(history.snapshot(), rules(postop_followup_days=[14, 42, 90, 180, 365]), date(2026, 5, 2))
    assert [c["summary"] for c in changes["timers"]] == [
        "postop_followup (day 14): new (due 2026-05-15, overdue 2026-05-29)"
    ]
