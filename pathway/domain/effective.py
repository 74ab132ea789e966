"""The effective history: an episode's events as they now count.

Recorded events are never changed. A ``correct`` event supersedes the fields or the
clinical date of an earlier event; an ``entered_in_error`` event makes an earlier one (a
correction included) no longer count. The *effective history* is the record with voided
events left out and corrections applied. ``replay`` walks it step by step through the
same ``assess`` that decides a new step, each step on its own date and under the rule
set it was recorded under, so that states, derived fields and facts are re-derived, and
names every step the corrected history no longer supports (a transition from a state it
no longer reaches, a guard that now fails, a date out of order). Such a step still
counts (it happened to the patient); a correction that causes it is refused unless a
clinician overrides, and the override then stands for that step in every later replay.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from pathway.domain.decisions import assess
from pathway.domain.guards import Verdict
from pathway.domain.history import CORRECT, CORRECTIONS, OPEN, VOID, Facts, RecordedEvent, fold
from pathway.domain.rules import RuleSet
from pathway.domain.states import INITIAL, TERMINAL
from pathway.domain.triggers import TRIGGERS, EpisodeAttributes

TRANSITION_POSSIBLE = "transition_possible"  # the pseudo-guard of a step its state no longer allows


@dataclass(frozen=True)
class Status:
    """How a recorded event counts now: ``effective``, ``corrected`` or ``entered_in_error`` (by event ``by``)."""

    kind: str
    by: int | None = None

    def __str__(self) -> str:
        if self.kind == "effective":
            return "effective"
        return f"{'corrected' if self.kind == 'corrected' else 'entered in error'} by {self.by}"


EFFECTIVE = Status("effective")


def target_of(event: RecordedEvent) -> int:
    """The event a correction or a void is about."""
    return int(event.fields["seq"])


def statuses(recorded: Sequence[RecordedEvent]) -> dict[int, Status]:
    """Every recorded event's status. A void counts unless voided itself (latest first)."""
    voided_by: dict[int, int] = {}
    for event in reversed(recorded):
        if event.trigger == VOID and event.seq not in voided_by:
            voided_by.setdefault(target_of(event), event.seq)
    corrected_by: dict[int, int] = {}
    for event in recorded:
        if event.trigger == CORRECT and event.seq not in voided_by:
            corrected_by[target_of(event)] = event.seq
    result = {}
    for event in recorded:
        if event.seq in voided_by:
            result[event.seq] = Status("entered_in_error", voided_by[event.seq])
        elif event.seq in corrected_by:
            result[event.seq] = Status("corrected", corrected_by[event.seq])
        else:
            result[event.seq] = EFFECTIVE
    return result


def counts(status: Status) -> bool:
    return status.kind != "entered_in_error"


@dataclass(frozen=True)
class Problem:
    """A step of the effective history that the engine would not accept as it now stands."""

    seq: int
    trigger: str
    occurred_on: date
    verdicts: tuple[Verdict, ...] = ()  # failing guards not overridden (TRANSITION_POSSIBLE among them)
    invalid: tuple[str, ...] = ()  # input problems: never overridable

    @property
    def keys(self) -> set[tuple[int, str]]:
        return {(self.seq, v.guard) for v in self.verdicts} | ({(self.seq, "")} if self.invalid else set())

    def label(self) -> str:
        return f"event {self.seq} ({self.trigger} on {self.occurred_on})"


def labelled(verdict: Verdict, label: str) -> Verdict:
    """A verdict about another event, saying which one."""
    return Verdict(verdict.guard, verdict.passed, f"{label}: {verdict.message}", verdict.rules)


@dataclass
class Replay:
    """The effective history re-derived, and what the episode's projection must be."""

    events: list[RecordedEvent]  # effective: no corrections, no voided events; states re-derived
    statuses: dict[int, Status]
    attributes: EpisodeAttributes
    state: str
    state_entered_on: date
    last_event_on: date
    facts: Facts
    problems: list[Problem] = field(default_factory=list)
    verdicts: dict[int, list[Verdict]] = field(default_factory=dict)  # each judged step's verdicts

    def new_problems(self, before: Replay) -> list[Problem]:
        """The problems this history has that ``before`` did not (by step and guard)."""
        old = set().union(*(p.keys for p in before.problems)) if before.problems else set()
        found = []
        for problem in self.problems:
            verdicts = tuple(v for v in problem.verdicts if (problem.seq, v.guard) not in old)
            invalid = problem.invalid if (problem.seq, "") not in old else ()
            if verdicts or invalid:
                found.append(replace(problem, verdicts=verdicts, invalid=invalid))
        return found


def _corrected(recorded: Sequence[RecordedEvent], status: Mapping[int, Status]) -> dict[int, RecordedEvent]:
    """Each event with the counted corrections applied, in order."""
    current = {event.seq: event for event in recorded}
    for event in recorded:
        if event.trigger != CORRECT or not counts(status[event.seq]):
            continue
        target = current.get(target_of(event))
        if target is None:
            continue
        fields = {**target.fields, **event.fields.get("set", {})}
        on = event.fields.get("occurred_on")
        day = date.fromisoformat(on) if on else target.occurred_on
        current[target.seq] = replace(target, fields=fields, occurred_on=day)
    return current


def _standing_overrides(recorded: Sequence[RecordedEvent], status: Mapping[int, Status]) -> dict[int, set[str]]:
    """Per step, the guards a clinician overrode for it: when recorded, and by counted corrections."""
    standing: dict[int, set[str]] = defaultdict(set)
    for event in recorded:
        standing[event.seq].update(event.overridden_guards)
        if event.trigger in CORRECTIONS and counts(status[event.seq]):
            for item in event.fields.get("overrides", []):
                standing[int(item["seq"])].update(item["guards"])
    return standing


def _opening_attributes(opening: RecordedEvent) -> EpisodeAttributes:
    f = opening.fields
    return EpisodeAttributes(
        bool(f.get("has_hip_arthroplasty", False)),
        f.get("side"),
        date.fromisoformat(f["referred_on"]) if f.get("referred_on") else opening.occurred_on,
        f.get("patient_ref"),
    )


def _impossible(trigger: str, state: str) -> str:
    if state in TERMINAL:
        return f"the corrected history has already ended the episode ({state}), so {trigger} cannot follow."
    sources = ", ".join(TRIGGERS[trigger].sources)
    return f"{trigger} needs the episode in {sources}; the corrected history has it in {state}."


def replay(
    recorded: Sequence[RecordedEvent],
    rule_sets: Mapping[int, RuleSet] | None = None,
    today: date | None = None,
) -> Replay:
    """Re-derive the episode from every recorded event (in sequence order, opening first).

    With ``rule_sets`` (every version the events name) and ``today``, each step is also
    judged and the steps the history no longer supports are listed in ``problems``;
    without them the replay only works out what the history now says.
    """
    if not recorded or recorded[0].trigger != OPEN:
        raise ValueError("a history starts with its opening event")
    judged = rule_sets is not None and today is not None
    status = statuses(recorded)
    current = _corrected(recorded, status)
    standing = _standing_overrides(recorded, status)
    effective = [current[e.seq] for e in recorded if e.trigger not in CORRECTIONS and counts(status[e.seq])]
    opening, steps = effective[0], effective[1:]
    attributes = _opening_attributes(opening)
    referred_on = attributes.referred_on
    for event in steps:  # an amended referral date is the episode's day 0 from the start
        if event.trigger == "amend" and event.fields.get("referred_on"):
            referred_on = date.fromisoformat(event.fields["referred_on"])
    assert referred_on is not None
    facts = Facts(referred_on=referred_on, latest_clinical_date=referred_on, state_entered_on=referred_on)
    result = Replay([opening], status, attributes, INITIAL, referred_on, referred_on, facts)
    state = INITIAL
    # Nothing corrected and nothing to judge: the record is the effective history as it stands.
    as_recorded = not judged and not any(e.trigger in CORRECTIONS for e in recorded)
    for event in steps:
        spec = TRIGGERS.get(event.trigger)
        if as_recorded or spec is None:  # (migrate_rules: the episode stays where it is)
            step = event if as_recorded else replace(event, from_state=state, to_state=state)
            fold(facts, step)
            result.events.append(step)
            if event.trigger == "amend":
                attributes = attributes.amended(dict(event.fields))
            state = step.to_state
            continue
        rules = rule_sets.get(event.rules_version or 0) if judged else None  # type: ignore[union-attr]
        if judged and rules is None:
            raise ValueError(f"rule set v{event.rules_version} of event {event.seq} was not given")
        a = assess(state, attributes, facts, rules, spec, dict(event.fields), event.occurred_on, today or date.max)
        overridden = standing[event.seq]
        if judged:
            result.verdicts[event.seq] = a.verdicts
            failing = [v for v in a.failed if v.guard not in overridden]
            if a.impossible and TRANSITION_POSSIBLE not in overridden:
                failing.insert(0, Verdict(TRANSITION_POSSIBLE, False, _impossible(event.trigger, state)))
            if failing or a.invalid:
                result.problems.append(Problem(event.seq, event.trigger, event.occurred_on, tuple(failing),
                                               tuple(a.invalid)))  # fmt: skip
        step = replace(event, from_state=state, to_state=a.to_state, fields=a.values,
                       overridden_guards=tuple(sorted(overridden)))  # fmt: skip
        fold(facts, step)
        result.events.append(step)
        if event.trigger == "amend":
            attributes = attributes.amended(a.values)
        state = a.to_state
    result.attributes = replace(attributes, referred_on=referred_on)
    result.state = state
    result.state_entered_on = facts.state_entered_on
    result.last_event_on = max(e.occurred_on for e in [replace(opening, occurred_on=referred_on), *steps])
    return result


def effective_history(recorded: Sequence[RecordedEvent]) -> list[RecordedEvent]:
    """The events as they now count (recorded ones unchanged when nothing was corrected)."""
    if not any(e.trigger in CORRECTIONS for e in recorded):
        return list(recorded)
    return replay(recorded).events


@dataclass(frozen=True)
class Revision:
    """A recorded event whose effective form differs from its record (or that no longer counts)."""

    seq: int
    status: Status
    from_state: str | None
    to_state: str
    occurred_on: date
    fields: dict[str, Any]


def revisions(recorded: Iterable[RecordedEvent], result: Replay) -> list[Revision]:
    """What the effective history changes about each recorded event, for the projection."""
    now = {e.seq: e for e in result.events}
    found = []
    for event in recorded:
        status = result.statuses[event.seq]
        counted = now.get(event.seq)
        shown = counted if counted is not None and counts(status) else event
        same = (shown.from_state, shown.to_state, shown.occurred_on, dict(shown.fields)) == (
            event.from_state, event.to_state, event.occurred_on, dict(event.fields))  # fmt: skip
        if status != EFFECTIVE or not same:
            found.append(Revision(event.seq, status, shown.from_state, shown.to_state, shown.occurred_on,
                                  dict(shown.fields)))  # fmt: skip
    return found
