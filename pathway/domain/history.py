"""What an episode's recorded events tell the guards and timers.

The event log is the source of truth; these facts are recomputed from it on every
decision rather than stored, so that they can never drift from the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class RecordedEvent:
    """One event as the domain sees it (no hashes, no actors)."""

    seq: int
    trigger: str
    from_state: str | None
    to_state: str
    occurred_on: date
    fields: Mapping[str, Any]
    # For re-deriving a corrected history: the rule set the event was judged under and
    # the guards a clinician overrode for it (absent for events built in memory).
    rules_version: int | None = None
    overridden_guards: tuple[str, ...] = ()


@dataclass(frozen=True)
class Injection:
    on: date
    agent: str
    guidance: str

    @property
    def corticosteroid(self) -> bool:
        return self.agent == "corticosteroid_anaesthetic"


@dataclass(frozen=True)
class InjectionResponse:
    on: date
    pain_reduction_pct: float | None
    relief: str


@dataclass
class Facts:
    """Everything guards and timers need to know about an episode's past."""

    referred_on: date
    latest_clinical_date: date
    state_entered_on: date
    radiograph_result: str | None = None
    mri: Mapping[str, Any] | None = None
    conservative_started_on: date | None = None
    reassessment_anchor: date | None = None
    reassessment_anchor_kind: str | None = None
    latest_reassessment: tuple[date, str] | None = None
    injections: list[Injection] = field(default_factory=list)
    responses: list[InjectionResponse] = field(default_factory=list)
    surgical_referral_on: date | None = None
    surgery_planned_on: date | None = None
    surgery_on: date | None = None
    postop_followups: list[date] = field(default_factory=list)
    events: list[RecordedEvent] = field(default_factory=list)  # the clinical events folded, for likely duplicates

    @property
    def latest_relief(self) -> str | None:
        return self.responses[-1].relief if self.responses else None


# Events that are audited on the episode's chain but say nothing about the patient:
# re-pinning the episode to another rule set, and the corrections of earlier events
# (which change what those events say; see domain/effective.py). They do not move its
# clinical dates.
MIGRATE_RULES = "migrate_rules"
CORRECT = "correct"
VOID = "entered_in_error"
CORRECTIONS: frozenset[str] = frozenset({CORRECT, VOID})
NON_CLINICAL: frozenset[str] = frozenset({MIGRATE_RULES, *CORRECTIONS})
OPEN = "open"

_ANCHORS = {
    "start_conservative": "conservative care started",
    "reassess": "the latest reassessment",
    "return_to_conservative": "the return to conservative care",
}


def facts_from(referred_on: date, events: Iterable[RecordedEvent]) -> Facts:
    """Fold the events (in sequence order) into facts.

    Pass the *effective* history (``effective.effective_history``) when the episode may
    hold corrections: a voided event still in the list would count here.
    """
    facts = Facts(referred_on=referred_on, latest_clinical_date=referred_on, state_entered_on=referred_on)
    for event in events:
        fold(facts, event)
    return facts


def fold(facts: Facts, event: RecordedEvent) -> None:
    """Add one event to ``facts`` (the opening event only sets day 0, already in ``facts``)."""
    if event.trigger in NON_CLINICAL or event.trigger == OPEN:
        return
    on, f = event.occurred_on, event.fields
    facts.events.append(event)
    facts.latest_clinical_date = max(facts.latest_clinical_date, on)
    if event.from_state != event.to_state:
        facts.state_entered_on = on
    trigger = event.trigger
    if trigger == "record_radiographs":
        facts.radiograph_result = f["result"]
    elif trigger == "record_mri":
        facts.mri = dict(f)
    elif trigger == "start_conservative":
        facts.conservative_started_on = on
    elif trigger == "inject":
        facts.injections.append(Injection(on, f["agent"], f["guidance"]))
    elif trigger == "record_injection_response":
        facts.responses.append(InjectionResponse(on, f.get("pain_reduction_pct"), f["relief"]))
    elif trigger == "reassess":
        facts.latest_reassessment = (on, f["outcome"])
    elif trigger == "refer_to_surgery":
        facts.surgical_referral_on = on
    elif trigger == "schedule_surgery":
        facts.surgery_planned_on = date.fromisoformat(f["planned_on"])
    elif trigger == "record_surgery":
        facts.surgery_on = on
    elif trigger == "record_followup" and event.from_state == "post_operative":
        facts.postop_followups.append(on)
    if trigger in _ANCHORS:
        facts.reassessment_anchor = on
        facts.reassessment_anchor_kind = _ANCHORS[trigger]


def days_between(start: date, end: date) -> int:
    """Whole days from ``start`` (day 0) to ``end``."""
    return (end - start).days
