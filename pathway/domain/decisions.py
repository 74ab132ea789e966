"""Deciding what a trigger does to an episode, and what is possible next.

``decide`` is the whole clinical logic of one step, free of storage: parse and check
the input, check the event date, evaluate every guard, fire the shared machine. It
returns a Decision to persist, or raises InvalidInput (exit 2) or Refused (exit 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pathway.domain.fields import FieldError, check_text, parse_date, quoted
from pathway.domain.guards import GuardContext, Verdict
from pathway.domain.history import Facts, RecordedEvent, facts_from
from pathway.domain.machine import EpisodeModel, fire, pathway_machine
from pathway.domain.rules import RuleSet
from pathway.domain.states import TERMINAL
from pathway.domain.triggers import TRIGGERS, EpisodeAttributes, TriggerSpec
from pathway.errors import InvalidInput, Refused


@dataclass(frozen=True)
class EpisodeSnapshot:
    """An episode as loaded for one decision."""

    id: int
    state: str
    referred_on: date
    has_hip_arthroplasty: bool
    rules: RuleSet
    events: Sequence[RecordedEvent]

    def facts(self) -> Facts:
        return facts_from(self.referred_on, self.events)


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


def spec_for(name: str) -> TriggerSpec:
    spec = TRIGGERS.get(name)
    if spec is None:
        raise InvalidInput(f"There is no trigger {quoted(name)}; the triggers are: {', '.join(TRIGGERS)}.")
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


def parse_fields(spec: TriggerSpec, raw: Mapping[str, str]) -> dict[str, Any]:
    """Typed field values from text, or InvalidInput naming every problem at once."""
    problems: list[str] = []
    unknown = [name for name in raw if spec.field(name) is None]
    if unknown:
        known = ", ".join(f.name for f in spec.fields) or "none"
        problems.append(f"{spec.name} has no field {', '.join(map(quoted, unknown))} (its fields: {known})")
    values: dict[str, Any] = {}
    for f in spec.fields:
        if f.name in raw:
            try:
                values[f.name] = f.parse(raw[f.name])
            except FieldError as exc:
                problems.append(str(exc).rstrip("."))
        elif f.required:
            problems.append(f"{spec.name} needs {f.name} ({f.describe()}); add --set {f.name}=VALUE")
        elif f.default is not None:
            values[f.name] = f.default
    if problems:
        raise InvalidInput("; ".join(problems) + ".")
    return values


def check_event_date(occurred_on: date, today: date, facts: Facts) -> None:
    if occurred_on > today:
        raise InvalidInput(
            f"The event date {occurred_on} is after today ({today}); record events when they have happened."
        )
    if occurred_on < facts.latest_clinical_date:
        raise InvalidInput(
            f"The event date {occurred_on} is before this episode's latest clinical date "
            f"({facts.latest_clinical_date}); use that date or a later one."
        )


def _check_source(spec: TriggerSpec, state: str) -> None:
    if state in spec.sources:
        return
    if state in TERMINAL:
        raise InvalidInput(
            f"The episode is {state}, which is final; no trigger applies. Open a new episode for a new course of care."
        )
    possible = ", ".join(pathway_machine().get_triggers(state))
    raise InvalidInput(f"{spec.name} is not possible from state {state}; possible now: {possible}. See `pathway next`.")


def decide(
    snapshot: EpisodeSnapshot,
    trigger: str,
    raw_fields: Mapping[str, str],
    occurred_on: date | str | None,
    today: date,
    override_reason: str | None = None,
) -> Decision:
    spec = spec_for(trigger)
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
    if spec.validate:
        problems = spec.validate(values, occurred_on, EpisodeAttributes(snapshot.has_hip_arthroplasty))
        if problems:
            raise InvalidInput(" ".join(p[0].upper() + p[1:] for p in problems))
    if spec.derive:
        values.update(spec.derive(values))
    ctx = GuardContext(facts, snapshot.rules, values, occurred_on)
    model = EpisodeModel(snapshot.state, spec, ctx, override=override_reason is not None)
    fired = fire(model, trigger)
    verdicts = model.verdicts
    failed = [v for v in verdicts if not v.passed]
    if not fired:
        raise Refused(f"{trigger} is refused by the pathway rules.", verdicts=failed)
    changes = {"has_hip_arthroplasty": values["has_hip_arthroplasty"]} if trigger == "amend" else {}
    return Decision(
        trigger=trigger,
        from_state=snapshot.state,
        to_state=model.state,
        fields=values,
        occurred_on=occurred_on,
        verdicts=verdicts,
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
