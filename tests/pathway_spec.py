"""PATHWAY.md's tables written out by hand, for tests to check the code against.

Kept apart from the code on purpose: if the code and this file disagree, one of them
has drifted from the specification.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pathway.domain.decisions import EpisodeSnapshot
from pathway.domain.history import RecordedEvent
from pathway.domain.rules import RuleSet

DEFAULT_RULES: dict[str, Any] = {
    "conservative_min_days": 90,
    "reassessment_window_open_days": 90,
    "reassessment_window_close_days": 180,
    "mri_ifs_max_mm": 15,
    "mri_qfs_max_mm": 10,
    "diagnostic_relief_min_pct": 50,
    "injection_guidance_allowed": ["ultrasound"],
    "injection_min_interval_days": 42,
    "injection_max_per_365_days": 3,
    "surgery_requires_injection": True,
    "surgery_requires_positive_diagnostic_injection": True,
    "radiograph_report_overdue_days": 14,
    "mri_report_overdue_days": 28,
    "injection_response_overdue_days": 28,
    "workup_decision_overdue_days": 14,
    "surgery_scheduling_overdue_days": 60,
    "postop_followup_days": [42, 90, 180, 365],
    "followup_grace_days": 14,
}

STATES = [
    "referred", "radiographs_ordered", "radiographs_reported", "mri_ordered", "mri_reported", "diagnosed",
    "conservative_care", "injection_done", "surgical_referral", "surgery_scheduled", "post_operative",
    "discharged", "closed",
]  # fmt: skip
NON_TERMINAL = STATES[:-2]

# trigger -> {source: destination}; "=" keeps the state; reassess is listed per outcome below.
TRANSITIONS: dict[str, dict[str, str]] = {
    "order_radiographs": {"referred": "radiographs_ordered"},
    "record_radiographs": {"radiographs_ordered": "radiographs_reported"},
    "order_mri": {
        "referred": "mri_ordered",
        "radiographs_ordered": "mri_ordered",
        "radiographs_reported": "mri_ordered",
    },
    "record_mri": {"mri_ordered": "mri_reported"},
    "confirm_diagnosis": {"radiographs_reported": "diagnosed", "mri_reported": "diagnosed"},
    "start_conservative": {"diagnosed": "conservative_care"},
    "inject": {"conservative_care": "injection_done"},
    "record_injection_response": {"injection_done": "conservative_care"},
    "record_followup": {"conservative_care": "conservative_care", "post_operative": "post_operative"},
    "reassess": {"conservative_care": "conservative_care"},
    "refer_to_surgery": {"conservative_care": "surgical_referral"},
    "return_to_conservative": {"surgical_referral": "conservative_care", "surgery_scheduled": "conservative_care"},
    "schedule_surgery": {"surgical_referral": "surgery_scheduled"},
    "record_surgery": {"surgery_scheduled": "post_operative"},
    "discharge": {"conservative_care": "discharged", "post_operative": "discharged"},
    "close": {s: "closed" for s in NON_TERMINAL},
    "amend": {s: s for s in NON_TERMINAL},
}

# Valid fields for each trigger (enough to fire it).
VALID_FIELDS: dict[str, dict[str, str]] = {
    "record_radiographs": {"result": "negative"},
    "record_mri": {"ifs_mm": "12", "qfs_mm": "8", "qf_edema": "true", "qf_fatty_replacement": "false"},
    "start_conservative": {},
    "inject": {"guidance": "ultrasound", "agent": "corticosteroid_anaesthetic"},
    "record_injection_response": {"pain_before": "8", "pain_after": "2", "relief": "temporary"},
    "record_followup": {"pain": "4"},
    "reassess": {"outcome": "persistent", "pain": "6"},
    "return_to_conservative": {"reason": "patient prefers to wait"},
    "schedule_surgery": {"approach": "endoscopic", "planned_on": "2027-01-10"},
    "record_surgery": {"approach": "endoscopic", "sciatic_neurolysis": "false"},
    "discharge": {"outcome": "improved"},
    "close": {"reason": "withdrawn"},
    "amend": {"has_hip_arthroplasty": "true", "reason": "arthroplasty found on review"},
}


def rules(**changes: Any) -> RuleSet:
    return RuleSet(1, {**DEFAULT_RULES, **changes})


class History:
    """Builds an episode's event list for domain tests, one trigger at a time."""

    def __init__(self, referred_on: date = date(2026, 1, 5)) -> None:
        self.referred_on = referred_on
        self.events: list[RecordedEvent] = []
        self.state = "referred"

    def add(self, trigger: str, on: date, to_state: str | None = None, **fields: Any) -> History:
        to_state = to_state or TRANSITIONS[trigger][self.state].replace("=", self.state)
        self.events.append(RecordedEvent(len(self.events) + 2, trigger, self.state, to_state, on, fields))
        self.state = to_state
        return self

    def snapshot(
        self, rule_set: RuleSet | None = None, arthroplasty: bool = False, state: str | None = None
    ) -> EpisodeSnapshot:
        return EpisodeSnapshot(
            1, state or self.state, self.referred_on, arthroplasty, rule_set or rules(), list(self.events)
        )

    def diagnosed(self, on: date = date(2026, 1, 20), ifs: float = 12, qfs: float = 8) -> History:
        d = on - timedelta(days=10)
        self.add("order_radiographs", d).add("record_radiographs", d, result="negative")
        self.add("order_mri", d).add("record_mri", d, ifs_mm=ifs, qfs_mm=qfs, qf_edema=True, qf_fatty_replacement=False)
        return self.add("confirm_diagnosis", on)

    def conservative(self, on: date = date(2026, 2, 1)) -> History:
        return self.diagnosed(on - timedelta(days=1)).add("start_conservative", on, components=["nsaids"])

    def injection(self, on: date, agent: str = "corticosteroid_anaesthetic", relief: str = "temporary",
                  before: int = 8, after: int = 2) -> History:  # fmt: skip
        self.add("inject", on, guidance="ultrasound", agent=agent)
        pct = None if before == 0 else round(100 * (before - after) / before, 1)
        return self.add(
            "record_injection_response", on + timedelta(days=1), pain_before=before, pain_after=after,
            relief=relief, pain_reduction_pct=pct,
        )  # fmt: skip
