"""Proposing a correction or a void: which event, what it says, and whether the history still holds.

Pure: given an episode's record (every stored event, as the domain sees it) and the
rule sets its events name, these functions build the correcting event's fields and
judge the history it leaves with ``effective.replay``. The service appends the event
and sets the episode's projection from the replay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from pathway.domain.decisions import parse_fields
from pathway.domain.effective import Replay, Status, counts, labelled, replay, target_of
from pathway.domain.fields import FieldError, parse_date
from pathway.domain.guards import Verdict
from pathway.domain.history import CORRECT, CORRECTIONS, MIGRATE_RULES, OPEN, VOID, RecordedEvent
from pathway.domain.rules import RuleSet
from pathway.domain.triggers import OPENING, TRIGGERS
from pathway.errors import InvalidInput, NotFound, Refused


def target_event(
    episode_id: int, recorded: Sequence[RecordedEvent], status: Mapping[int, Status], seq: int, change: str
) -> RecordedEvent:
    """Event ``seq``, if it may be corrected (``change`` = correct) or voided (entered_in_error)."""
    event = next((e for e in recorded if e.seq == seq), None)
    eid = episode_id
    if event is None:
        raise NotFound(f"Episode {eid} has no event {seq}; `pathway episode history {eid}` lists them.")
    if event.trigger == OPEN and change == VOID:
        raise InvalidInput(
            "The opening event cannot be voided: close the episode with a reason instead "
            f"(`pathway advance {eid} close --set reason=...`)."
        )
    if event.trigger == MIGRATE_RULES:
        raise InvalidInput(
            f"Event {seq} moved the episode to other rules; move it again with `pathway rules migrate` instead."
        )
    if not counts(status[seq]):
        raise InvalidInput(
            f"Event {seq} is already {status[seq]} and no longer counts; void event {status[seq].by} to restore it."
        )
    if change == CORRECT and event.trigger in CORRECTIONS:
        raise InvalidInput(
            f"Event {seq} is itself a {'correction' if event.trigger == CORRECT else 'void'}; correct event "
            f"{target_of(event)} instead, or void event {seq} to undo it."
        )
    return event


def correction_fields(
    current: RecordedEvent, raw: Mapping[str, str], occurred_on: str | date | None, reason: str, today: date
) -> dict[str, Any]:
    """The fields of a ``correct`` event superseding ``current`` (the event as it now counts).

    New values are parsed and checked by the event's own trigger fields; only what
    differs is kept; derived fields cannot be set (they are worked out again). The
    opening event's patient, side, referral date and arthroplasty may be corrected
    (in any state, unlike ``amend``); its date is its referral date.
    """
    seq = current.seq
    spec = OPENING if current.trigger == OPEN else TRIGGERS[current.trigger]
    if current.trigger == OPEN and occurred_on is not None:
        raise InvalidInput("The opening event's date is the referral date: correct it with --set referred_on=DATE.")
    derived = [name for name in raw if spec.field(name) is None and name in current.fields]
    if derived:
        raise InvalidInput(
            f"{', '.join(derived)} of {spec.name} is worked out from the other fields; correct those instead."
        )
    values = parse_fields(spec, raw, partial=True)
    changes = {name: value for name, value in values.items() if current.fields.get(name) != value}
    new_date = None
    if occurred_on is not None:
        try:
            day = occurred_on if isinstance(occurred_on, date) else parse_date(occurred_on, "The event date (--on)")
        except FieldError as exc:
            raise InvalidInput(str(exc)) from None
        new_date = day if day != current.occurred_on else None
    if not changes and new_date is None:
        said = "those values" if raw else "that date" if occurred_on is not None else "nothing new"
        raise InvalidInput(
            f"Event {seq} already records {said}: nothing to correct. Give new values with --set FIELD=VALUE "
            "and/or a new date with --on DATE."
        )
    referred = changes.get("referred_on") if current.trigger == OPEN else None
    if referred is not None and date.fromisoformat(referred) > today:
        raise InvalidInput(f"referred_on {referred} is after today ({today}); give the date the referral was made.")
    fields: dict[str, Any] = {"seq": seq}
    if changes:
        fields["set"] = changes
    if new_date is not None:
        fields["occurred_on"] = new_date.isoformat()
    fields["reason"] = reason
    return fields


@dataclass
class Change:
    """A correcting event about to be recorded, and what it does to the history."""

    trigger: str
    fields: dict[str, Any]
    target: int
    verdicts: list[Verdict] = field(default_factory=list)
    overridden: list[str] = field(default_factory=list)
    override_reason: str | None = None
    override_unused: bool = False
    result: Replay | None = None  # the history with this event: what the episode becomes


def judge_change(
    recorded: Sequence[RecordedEvent], rule_sets: Mapping[int, RuleSet], candidate: RecordedEvent, today: date, *,
    target: int | None, override_reason: str | None, what: str,
) -> tuple[Replay, list[tuple[int, list[Verdict]]]]:  # fmt: skip
    """Replay the history with ``candidate`` added; refuse what it would newly leave unsupported.

    Returns the replay and, per step, the failing verdicts an override now covers.
    Input problems of the changed event itself are bad input (exit 2); those of later
    steps (a date out of order) are refused and cannot be overridden; failing guards and
    impossible transitions are refused unless ``override_reason`` is given.
    """
    before = replay(recorded, rule_sets, today)
    after = replay([*recorded, candidate], rule_sets, today)
    new = after.new_problems(before)
    own = [p for p in new if p.seq == target and p.invalid]
    if own:
        raise InvalidInput(" ".join(own[0].invalid))
    blocking = [p for p in new if p.invalid]
    if blocking:
        reasons = [Verdict("", False, f"{p.label()}: {m}") for p in blocking for m in p.invalid]
        raise Refused(
            f"{what} is refused: the history it leaves would have later events out of order or invalid. "
            "Correct or void those events first.",
            verdicts=reasons,
            overridable=False,
        )
    failing = [(p, [labelled(v, p.label()) for v in p.verdicts]) for p in new if p.verdicts]
    if failing and override_reason is None:
        raise Refused(
            f"{what} is refused: the corrected history no longer supports {', '.join(p.label() for p, _ in failing)}.",
            verdicts=[v for _, vs in failing for v in vs],
        )
    return after, [(p.seq, vs) for p, vs in failing]


def propose(
    recorded: Sequence[RecordedEvent], rule_sets: Mapping[int, RuleSet], *, trigger: str, fields: dict[str, Any],
    target: int, seq: int, state: str, rules_version: int, today: date, override_reason: str | None,
) -> Change:  # fmt: skip
    """The correcting event (``correct`` or ``entered_in_error``) to record, judged; or a refusal."""
    change = Change(trigger, dict(fields), target)
    candidate = RecordedEvent(seq, trigger, state, state, today, change.fields, rules_version)
    what = f"{'Correcting' if trigger == CORRECT else 'Voiding'} event {target}"
    after, failing = judge_change(recorded, rule_sets, candidate, today, target=target if trigger == CORRECT else None,
                                  override_reason=override_reason, what=what)  # fmt: skip
    newly = {v.guard for step, vs in failing if step == target for v in vs}
    own = [labelled(v, f"event {target}") for v in after.verdicts.get(target, []) if v.guard not in newly]
    if trigger != CORRECT:
        own = []
    change.verdicts = own + [v for _, vs in failing for v in vs]
    if failing:
        change.fields["overrides"] = [{"seq": step, "guards": [v.guard for v in vs]} for step, vs in failing]
        change.overridden = sorted({v.guard for _, vs in failing for v in vs})
        change.override_reason = override_reason
    change.override_unused = override_reason is not None and not failing
    change.result = replay([*recorded, replace(candidate, fields=change.fields)])
    return change
