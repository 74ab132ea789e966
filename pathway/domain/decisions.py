"""Deciding what a trigger does to an episode, and what is possible next.

``decide`` is the whole clinical logic of one step, free of storage: parse and check
the input, then ``assess`` it (the event date, the input checks, every guard, the
shared machine). It returns a Decision to persist, or raises InvalidInput (exit 2) or
Refused (exit 1). Re-deriving a corrected history (``effective.replay``) assesses each
recorded step with the same ``assess``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pathway.domain.fields import FieldError, check_text, did_you_mean, parse_date, quoted
from pathway.domain.guards import GuardContext, Verdict, not_a_duplicate
from pathway.domain.history import Facts, RecordedEvent, facts_from
from pathway.domain.machine import EpisodeModel, fire, pathway_machine
from pathway.domain.rules import RuleSet
from pathway.domain.states import SIDES, TERMINAL
from pathway.domain.triggers import AMENDABLE, TRIGGERS, EpisodeAttributes, TriggerSpec
from pathway.errors import InvalidInput, Refused


@dataclass(frozen=True)
class EpisodeSnapshot:
    """An episode as loaded for one decision.

    ``events`` is the effective history (what counts now); ``recorded`` is every event
    as stored, corrections included, and ``rule_sets`` every rule set they were judged
    under (both needed only to correct the history; empty otherwise).
    """

    id: int
    state: str
    referred_on: date
    has_hip_arthroplasty: bool
    rules: RuleSet
    events: Sequence[RecordedEvent]
    side: str | None = None
    patient_ref: str | None = None
    recorded: Sequence[RecordedEvent] = ()
    rule_sets: Mapping[int, RuleSet] = field(default_factory=dict)

    def facts(self) -> Facts:
        return facts_from(self.referred_on, self.events)

    def attributes(self) -> EpisodeAttributes:
        return EpisodeAttributes(self.has_hip_arthroplasty, self.side, self.referred_on, self.patient_ref)


@dataclass(frozen=True)
class Decision:
    trigger: str
    from_state: str
    to_state: str
    fields: dict[str, Any]
    occurred_on: date
    verdicts: list[Verdict]
    override_reason: str | None = None
    overridden: list[str] = field(default_factory=list)
    override_unused: bool = False
    attribute_changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Option:
    """One trigger possible from the current state, allowed now or not, and why."""

    trigger: str
    allowed: bool
    verdicts: list[Verdict]
    summary: str

    @property
    def reasons(self) -> list[str]:
        return [v.message for v in self.verdicts if not v.passed]


def spec_for(name: str, state: str | None = None) -> TriggerSpec:
    """The trigger ``name``, or InvalidInput suggesting the closest one (those possible from
    ``state`` first, then the rest)."""
    spec = TRIGGERS.get(name)
    if spec is None:
        possible = list(pathway_machine().get_triggers(state)) if state and state not in TERMINAL else []
        hint = did_you_mean(name, possible) or did_you_mean(name, TRIGGERS)
        others = [t for t in TRIGGERS if t not in possible]
        listing = (f"possible from {state}: {', '.join(possible)}; the others: {', '.join(others)}" if possible
                   else f"the triggers are: {', '.join(TRIGGERS)}")  # fmt: skip
        raise InvalidInput(f"There is no trigger {quoted(name)}{hint}. {listing[0].upper()}{listing[1:]}.")
    return spec


def parse_assignments(items: Sequence[str]) -> dict[str, str]:
    """``FIELD=VALUE`` strings (from repeated --set options) as a mapping."""
    values: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InvalidInput(f"--set takes FIELD=VALUE, e.g. --set pain=4; {quoted(item)} has no field name or '='.")
        if name in values:
            raise InvalidInput(f"--set {name} is given twice; give each field once.")
        values[name] = value
    return values


def parse_fields(spec: TriggerSpec, raw: Mapping[str, str], *, partial: bool = False) -> dict[str, Any]:
    """Typed field values from text, or InvalidInput naming every problem at once.

    ``partial`` parses only the fields given (a correction of some of an event's fields).
    """
    problems: list[str] = []
    unknown = [name for name in raw if spec.field(name) is None]
    if unknown:
        known = ", ".join(f.name for f in spec.fields) or "none"
        hint = did_you_mean(unknown[0], [f.name for f in spec.fields])
        problems.append(f"{spec.name} has no field {', '.join(map(quoted, unknown))}{hint}; its fields: {known}")
    values: dict[str, Any] = {}
    for f in spec.fields:
        if f.name in raw:
            try:
                values[f.name] = f.parse(raw[f.name])
            except FieldError as exc:
                problems.append(str(exc).rstrip("."))
        elif partial:
            continue
        elif f.required:
            problems.append(f"{spec.name} needs {f.name} ({f.describe()}); add --set {f.name}=VALUE")
        elif f.default is not None:
            values[f.name] = f.default
    if problems:
        raise InvalidInput("; ".join(problems) + ".")
    return values


def date_problem(occurred_on: date, today: date, facts: Facts) -> str | None:
    """Why an event cannot carry this date, or None."""
    if occurred_on > today:
        return f"The event date {occurred_on} is after today ({today}); record events when they have happened."
    if occurred_on < facts.latest_clinical_date:
        referral = ", its referral date" if not facts.events else ""
        return (
            f"The event date {occurred_on} is before this episode's latest clinical date "
            f"({facts.latest_clinical_date}{referral}); use that date or a later one."
        )
    return None


def check_event_date(occurred_on: date, today: date, facts: Facts) -> None:
    problem = date_problem(occurred_on, today, facts)
    if problem:
        raise InvalidInput(problem)


def check_opening(side: str, referred_on: date, today: date) -> None:
    """What opening an episode requires of its side and referral date (patient references aside)."""
    if side not in SIDES:
        raise InvalidInput(f"The side must be left or right, not {quoted(side)}; bilateral disease needs two episodes.")
    if referred_on > today:
        raise InvalidInput(
            f"The referral date {referred_on} is after today ({today}); give the date the referral was made."
        )


def opening_fields(patient_ref: str, side: str, referred_on: date, has_hip_arthroplasty: bool) -> dict[str, Any]:
    """The fields of an episode's ``open`` event."""
    return {
        "patient_ref": patient_ref,
        "side": side,
        "referred_on": referred_on.isoformat(),
        "has_hip_arthroplasty": has_hip_arthroplasty,
    }



def _source_problem(spec: TriggerSpec, state: str) -> str | None:
    if state in spec.sources:
        return None
    if state in TERMINAL:
        return (
            f"The episode is {state}, which is final; no trigger applies. Open a new episode for a new course of care."
        )
    possible = ", ".join(pathway_machine().get_triggers(state))
    return f"{spec.name} is not possible from state {state}; possible now: {possible}. See `pathway next`."


def _check_source(spec: TriggerSpec, state: str) -> None:
    problem = _source_problem(spec, state)
    if problem:
        raise InvalidInput(problem)


@dataclass(frozen=True)
class Assessment:
    """One step judged: where it leads, and everything that stands in its way.

    ``invalid`` holds input problems (the date, the input checks), which nothing can
    override; ``verdicts`` every guard's verdict (the duplicate check only when it
    fails); ``impossible`` says why the trigger cannot fire from the state, in which
    case ``to_state`` is where the trigger leads from the states it can fire from.
    """

    values: dict[str, Any]
    to_state: str
    verdicts: list[Verdict]
    invalid: list[str]
    impossible: str | None = None

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.passed]


def _forced_destination(spec: TriggerSpec, state: str, values: Mapping[str, Any]) -> str:
    resolved = values.get("outcome") == "resolved"
    for edge in spec.edges:
        if edge.when_resolved is None or edge.when_resolved == resolved:
            return state if edge.dest == "=" else edge.dest
    return state  # pragma: no cover - every trigger has an edge for each outcome


def assess(
    state: str,
    attributes: EpisodeAttributes,
    facts: Facts,
    rules: RuleSet | None,
    spec: TriggerSpec,
    values: dict[str, Any],
    occurred_on: date,
    today: date,
) -> Assessment:
    """Judge ``spec`` with typed ``values`` on ``occurred_on`` from ``state``; never raises.

    Without ``rules`` nothing is judged: only the derived fields and the destination
    are worked out (what re-deriving a history needs to know where it leads).
    """
    values = dict(values)
    judged = rules is not None
    invalid: list[str] = []
    if judged:
        problem = date_problem(occurred_on, today, facts)
        if problem:
            invalid.append(problem)
        if spec.validate:
            invalid += [p[0].upper() + p[1:] for p in spec.validate(values, occurred_on, attributes)]
    if spec.derive:
        values.update(spec.derive(values))
    impossible = _source_problem(spec, state)
    ctx = GuardContext(facts, rules, values, occurred_on)  # type: ignore[arg-type]
    verdicts: list[Verdict] = []
    if impossible is None:
        model = EpisodeModel(state, spec, ctx, override=True)
        fire(model, spec.name)
        to_state = model.state
        if judged:
            verdicts = model.verdicts
    else:
        to_state = _forced_destination(spec, state, values)
        if judged:
            verdicts = [guard(ctx) for guard in spec.guards]
    if judged:
        duplicate = not_a_duplicate(ctx, spec.name)
        if not duplicate.passed:
            verdicts.append(duplicate)
    return Assessment(values, to_state, verdicts, invalid, impossible)


def decide(
    snapshot: EpisodeSnapshot,
    trigger: str,
    raw_fields: Mapping[str, str],
    occurred_on: date | str | None,
    today: date,
    override_reason: str | None = None,
) -> Decision:
    spec = spec_for(trigger, snapshot.state)
    _check_source(spec, snapshot.state)
    if isinstance(occurred_on, str):
        try:
            occurred_on = parse_date(occurred_on, "The event date (--on)")
        except FieldError as exc:
            raise InvalidInput(str(exc)) from None
    if override_reason is not None:
        try:
            override_reason = check_text(override_reason, "The override reason", 1000)
        except FieldError as exc:
            raise InvalidInput(f"{exc} Say why the guideline does not apply to this patient.") from None
    values = parse_fields(spec, raw_fields)
    occurred_on = occurred_on or today
    facts = snapshot.facts()
    check_event_date(occurred_on, today, facts)
    judged = assess(snapshot.state, snapshot.attributes(), facts, snapshot.rules, spec, values, occurred_on, today)
    if judged.invalid:
        raise InvalidInput(" ".join(judged.invalid))
    failed = judged.failed
    if failed and override_reason is None:
        raise Refused(f"{trigger} is refused by the pathway rules.", verdicts=failed)
    changes = {name: judged.values[name] for name in AMENDABLE if name in judged.values} if trigger == "amend" else {}
    return Decision(
        trigger=trigger,
        from_state=snapshot.state,
        to_state=judged.to_state,
        fields=judged.values,
        occurred_on=occurred_on,
        verdicts=judged.verdicts,
        override_reason=override_reason if failed else None,
        overridden=[v.guard for v in failed],
        override_unused=override_reason is not None and not failed,
        attribute_changes=changes,
    )


def options(snapshot: EpisodeSnapshot, today: date) -> list[Option]:
    """Every trigger possible from the current state, judged as of today."""
    if snapshot.state in TERMINAL:
        return []
    facts = snapshot.facts()
    ctx = GuardContext(facts, snapshot.rules, None, max(today, facts.latest_clinical_date))
    result = []
    for name in pathway_machine().get_triggers(snapshot.state):
        spec = TRIGGERS[name]
        verdicts = [guard(ctx) for guard in spec.guards]
        result.append(Option(name, all(v.passed for v in verdicts), verdicts, spec.summary))
    return result
