"""The timers of PATHWAY.md: which flags an episode is expected to carry, and when.

``expected_flags`` turns an episode's state, its facts and its pinned rule set into the
flags it should have (due or not yet); ``reconcile`` compares them with the flags already
stored and says what to insert, re-time, drop or resolve. Both are pure: the database
layer applies the plan, the scheduled job only opens what has come due.

Dates follow PATHWAY.md: the anchor is day 0; a flag is overdue from day N after its
anchor; a flag without a due day is due on its overdue day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from pathway.domain.history import Facts
from pathway.domain.rules import RuleSet

WORKUP_STATES = ("radiographs_reported", "mri_reported", "diagnosed")
# The reassessment clock runs through the whole conservative phase: an injection does
# not stop it (see README, "Flags and the worklist").
CONSERVATIVE_PHASE = ("conservative_care", "injection_done")


@dataclass(frozen=True)
class TimerKind:
    """One row of PATHWAY.md's Timers table."""

    name: str
    states: tuple[str, ...]
    anchor: str
    overdue_rule: str
    due_rule: str | None = None


KINDS: dict[str, TimerKind] = {
    kind.name: kind
    for kind in (
        TimerKind("radiograph_report", ("radiographs_ordered",), "ordering", "radiograph_report_overdue_days"),
        TimerKind("mri_report", ("mri_ordered",), "ordering", "mri_report_overdue_days"),
        TimerKind("workup_decision", WORKUP_STATES, "entering the state", "workup_decision_overdue_days"),
        TimerKind("injection_response", ("injection_done",), "injection", "injection_response_overdue_days"),
        TimerKind(
            "reassessment",
            CONSERVATIVE_PHASE,
            "the reassessment anchor",
            "reassessment_window_close_days",
            "reassessment_window_open_days",
        ),
        TimerKind("surgery_scheduling", ("surgical_referral",), "referral", "surgery_scheduling_overdue_days"),
        TimerKind("surgery_record", ("surgery_scheduled",), "planned_on", "followup_grace_days"),
        TimerKind("postop_followup", ("post_operative",), "surgery", "followup_grace_days", "postop_followup_days"),
    )
}

# What the coordinator records to clear a flag, by kind and (for the work-up) state.
_CLEARS: dict[str, tuple[str, ...]] = {
    "radiograph_report": ("record_radiographs",),
    "mri_report": ("record_mri",),
    "radiographs_reported": ("order_mri", "confirm_diagnosis"),
    "mri_reported": ("confirm_diagnosis",),
    "diagnosed": ("start_conservative",),
    "injection_response": ("record_injection_response",),
    "reassessment": ("reassess",),
    "surgery_scheduling": ("schedule_surgery",),
    "surgery_record": ("record_surgery",),
    "postop_followup": ("record_followup",),
}


def clearing_triggers(kind: str, state: str | None) -> tuple[str, ...]:
    """The triggers that satisfy a flag of ``kind`` while the episode is in ``state``."""
    if kind == "workup_decision":
        return _CLEARS.get(state or "", ())
    return _CLEARS[kind]


@dataclass(frozen=True)
class ExpectedFlag:
    """A flag an episode should carry; ``milestone`` is 0 except for post-operative follow-ups."""

    kind: str
    anchor_on: date
    due_on: date
    overdue_on: date
    milestone: int = 0

    @property
    def key(self) -> tuple[str, date, int]:
        return (self.kind, self.anchor_on, self.milestone)


def _days(anchor: date, n: int) -> date:
    return anchor + timedelta(days=int(n))


def _single(kind: str, anchor: date | None, rules: RuleSet) -> list[ExpectedFlag]:
    if anchor is None:
        return []
    spec = KINDS[kind]
    overdue = _days(anchor, rules[spec.overdue_rule])
    due = _days(anchor, rules[spec.due_rule]) if spec.due_rule else overdue
    return [ExpectedFlag(kind, anchor, min(due, overdue), overdue)]


def _postop(facts: Facts, rules: RuleSet) -> list[ExpectedFlag]:
    """One flag per milestone not yet met by a follow-up within the grace either side."""
    surgery = facts.surgery_on
    if surgery is None:
        return []
    grace = int(rules["followup_grace_days"])
    flags = []
    for milestone in sorted({int(m) for m in rules["postop_followup_days"]}):
        due = _days(surgery, milestone)
        if any(abs((seen - due).days) <= grace for seen in facts.postop_followups):
            continue
        flags.append(ExpectedFlag("postop_followup", surgery, due, _days(due, grace), milestone))
    return flags


def expected_flags(state: str, facts: Facts, rules: RuleSet) -> list[ExpectedFlag]:
    """Every flag an episode in ``state`` should carry now, timed by its pinned rules."""
    if state in ("radiographs_ordered", "mri_ordered"):
        kind = "radiograph_report" if state == "radiographs_ordered" else "mri_report"
        return _single(kind, facts.state_entered_on, rules)
    if state in WORKUP_STATES:
        return _single("workup_decision", facts.state_entered_on, rules)
    flags: list[ExpectedFlag] = []
    if state in CONSERVATIVE_PHASE:
        flags += _single("reassessment", facts.reassessment_anchor, rules)
    if state == "injection_done":
        flags += _single("injection_response", facts.injections[-1].on if facts.injections else None, rules)
    if state == "surgical_referral":
        flags += _single("surgery_scheduling", facts.surgical_referral_on, rules)
    if state == "surgery_scheduled":
        flags += _single("surgery_record", facts.surgery_planned_on, rules)
    if state == "post_operative":
        flags += _postop(facts, rules)
    return flags


@dataclass(frozen=True)
class StoredFlag:
    """A flag row that is not resolved yet (opened or still waiting for its due day)."""

    id: int
    kind: str
    anchor_on: date
    milestone: int
    due_on: date
    overdue_on: date
    opened: bool

    @property
    def key(self) -> tuple[str, date, int]:
        return (self.kind, self.anchor_on, self.milestone)


@dataclass
class Plan:
    """What to change in an episode's stored flags after an event."""

    insert: list[ExpectedFlag] = field(default_factory=list)
    retime: list[tuple[int, ExpectedFlag, bool]] = field(default_factory=list)  # id, new dates, still opened
    drop: list[int] = field(default_factory=list)  # never opened, no longer expected
    resolve: list[tuple[int, str]] = field(default_factory=list)  # id, "satisfied" | "moved_on"

    def __bool__(self) -> bool:
        return bool(self.insert or self.retime or self.drop or self.resolve)


def resolution(kind: str, trigger: str, from_state: str | None) -> str:
    """Why an opened flag is resolved by an event: its awaited event arrived, or the episode moved on."""
    return "satisfied" if trigger in clearing_triggers(kind, from_state) else "moved_on"


def reconcile(
    expected: Iterable[ExpectedFlag],
    stored: Sequence[StoredFlag],
    *,
    trigger: str,
    from_state: str | None,
    today: date,
) -> Plan:
    """Bring stored flags in line with the expected ones, after the event ``trigger``.

    A flag keeps its identity (kind, anchor, milestone): one that is already stored is
    re-timed if the rules moved its dates, never duplicated. An opened flag that is no
    longer expected is resolved; one never opened is simply dropped from the schedule.
    """
    wanted = {flag.key: flag for flag in expected}
    plan = Plan()
    for row in stored:
        flag = wanted.pop(row.key, None)
        if flag is None:
            if row.opened:
                plan.resolve.append((row.id, resolution(row.kind, trigger, from_state)))
            else:
                plan.drop.append(row.id)
        elif (flag.due_on, flag.overdue_on) != (row.due_on, row.overdue_on):
            plan.retime.append((row.id, flag, row.opened and flag.due_on <= today))
    plan.insert = list(wanted.values())
    return plan
