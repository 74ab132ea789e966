"""The rule catalogue (which keys exist, their types and units) and a pinned rule set.

Rule *values* are data in the database, versioned; this module only knows what a valid
value looks like, so that guards, timers and rule-set validation agree on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GUIDANCE = ("ultrasound", "ct", "fluoroscopy")


@dataclass(frozen=True)
class RuleSpec:
    key: str
    type: str  # int | number | bool | enum_list | int_list
    unit: str | None
    summary: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()


def _days(key: str, summary: str, lo: int = 1, hi: int = 730) -> RuleSpec:
    return RuleSpec(key, "int", "days", summary, lo, hi)


CATALOGUE: dict[str, RuleSpec] = {
    spec.key: spec
    for spec in (
        _days("conservative_min_days", "minimum conservative care before surgical referral", 0),
        _days("reassessment_window_open_days", "reassessment window opens, days after its anchor"),
        _days("reassessment_window_close_days", "reassessment is overdue, days after its anchor", 1, 1095),
        RuleSpec("mri_ifs_max_mm", "number", "mm", "ischiofemoral space at or below which MRI suggests IFI", 1, 50),
        RuleSpec("mri_qfs_max_mm", "number", "mm", "quadratus femoris space at or below which MRI suggests IFI", 1, 50),
        RuleSpec(
            "diagnostic_relief_min_pct",
            "number",
            "%",
            "pain reduction that makes a diagnostic injection positive",
            1,
            100,
        ),
        RuleSpec(
            "injection_guidance_allowed", "enum_list", None, "image guidance allowed for injections", choices=GUIDANCE
        ),
        _days("injection_min_interval_days", "minimum days between corticosteroid injections", 0, 365),
        RuleSpec(
            "injection_max_per_365_days", "int", "injections", "corticosteroid injections allowed in 365 days", 1, 12
        ),
        RuleSpec("surgery_requires_injection", "bool", None, "surgical referral needs at least one injection"),
        RuleSpec(
            "surgery_requires_positive_diagnostic_injection",
            "bool",
            None,
            "surgical referral needs a positive diagnostic injection",
        ),
        _days("radiograph_report_overdue_days", "radiograph report overdue after ordering", 1, 365),
        _days("mri_report_overdue_days", "MRI report overdue after ordering", 1, 365),
        _days("injection_response_overdue_days", "injection response overdue after the injection", 1, 365),
        _days("workup_decision_overdue_days", "work-up decision overdue after entering the state", 1, 365),
        _days("surgery_scheduling_overdue_days", "surgery scheduling overdue after referral", 1, 730),
        RuleSpec(
            "postop_followup_days", "int_list", "days", "post-operative follow-up milestones after surgery", 1, 1095
        ),
        _days("followup_grace_days", "grace either side of a follow-up milestone", 0, 90),
    )
}


@dataclass(frozen=True)
class RuleSet:
    """The rule values an episode is pinned to; guards and timers read only this."""

    version: int
    values: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise KeyError(f"rule set v{self.version} has no rule {key!r}") from None

    def cite(self, key: str) -> str:
        """How a message refers to a rule: its key, value and version."""
        value = self.values.get(key)
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        return f"{key} = {shown} (rules v{self.version})"
