"""Judging an episode's recorded past one step at a time, exactly as `advance` would.

An import brings episodes with their history: an opening and dated steps. Each step is
decided by ``decisions.decide`` on the snapshot the steps before it produced, judged as
of its own date under the episode's pinned rules, so no rule is checked here that
`advance` does not check and none is skipped. Pure: rows in, decisions and problems out.

After a step refused by a guard the replay goes on as if it had been overridden, so that
the later steps are judged on the history the coordinator meant and every independent
mistake is found in one run. After invalid input (a wrong field, date or trigger) the
history is unknowable: the episode's later steps are reported as not checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from pathway.domain.decisions import Decision, EpisodeSnapshot, check_opening, decide
from pathway.domain.fields import BoolField, FieldError, parse_date, quoted
from pathway.domain.history import RecordedEvent
from pathway.domain.rules import RuleSet
from pathway.domain.states import INITIAL
from pathway.errors import InvalidInput, Refused

OPEN = "open"
OPEN_FIELDS = ("referred_on", "has_hip_arthroplasty")
_ARTHROPLASTY = BoolField("has_hip_arthroplasty")
REPLAYED_OVERRIDE = "(replay after a refusal)"


@dataclass(frozen=True)
class Step:
    """One row of a file: a trigger with its text fields, dated (None: no usable date)."""

    row: int
    trigger: str
    occurred_on: date | None
    fields: Mapping[str, str]
    override_reason: str | None = None
    date_problem: str | None = None


@dataclass(frozen=True)
class Problem:
    """A row that cannot be recorded: ``refused`` by a guard, ``invalid`` input, or ``not_checked``."""

    row: int
    trigger: str
    kind: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Accepted:
    row: int
    decision: Decision


@dataclass
class Replayed:
    """What the replay of one episode found: its accepted steps, problems and final snapshot."""

    snapshot: EpisodeSnapshot
    accepted: list[Accepted] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def opening(step: Step, today: date, side: str) -> tuple[date, bool]:
    """The referral date and arthroplasty flag of an ``open`` row, checked as `episode open` checks them.

    The opening is dated by its referral: ``referred_on`` if given, else the row's date;
    when both are given they must agree.
    """
    unknown = [name for name in step.fields if name not in OPEN_FIELDS]
    if unknown:
        raise InvalidInput(
            f"open has no field {', '.join(map(quoted, unknown))} (its fields: {', '.join(OPEN_FIELDS)})."
        )
    if step.date_problem:
        raise InvalidInput(step.date_problem)
    referred_on = step.occurred_on
    text = step.fields.get("referred_on")
    if text is not None:
        try:
            given = parse_date(text, "referred_on")
        except FieldError as exc:
            raise InvalidInput(str(exc)) from None
        if referred_on is not None and given != referred_on:
            raise InvalidInput(
                f"occurred_on {referred_on} and referred_on {given} differ; an episode opens on its referral "
                "date: give one of them, or the same date in both."
            )
        referred_on = given
    if referred_on is None:
        raise InvalidInput("an open row needs its referral date in occurred_on or referred_on.")
    arthroplasty = False
    if "has_hip_arthroplasty" in step.fields:
        try:
            arthroplasty = _ARTHROPLASTY.parse(step.fields["has_hip_arthroplasty"])
        except FieldError as exc:
            raise InvalidInput(str(exc)) from None
    check_opening(side, referred_on, today)
    return referred_on, arthroplasty


def opened(episode_id: int, referred_on: date, arthroplasty: bool, rules: RuleSet, fields: dict) -> EpisodeSnapshot:
    """The snapshot of an episode just opened (its one event, ``open``)."""
    event = RecordedEvent(1, OPEN, None, INITIAL, referred_on, fields, rules.version)
    return EpisodeSnapshot(episode_id, INITIAL, referred_on, arthroplasty, rules, (event,), fields["side"],
                           fields["patient_ref"])  # fmt: skip


def after(snapshot: EpisodeSnapshot, decision: Decision) -> EpisodeSnapshot:
    """The snapshot once ``decision`` is recorded."""
    event = RecordedEvent(
        len(snapshot.events) + 1, decision.trigger, decision.from_state, decision.to_state, decision.occurred_on,
        decision.fields, snapshot.rules.version, tuple(decision.overridden),
    )  # fmt: skip
    changes = decision.attribute_changes
    arthroplasty = changes.get("has_hip_arthroplasty", snapshot.has_hip_arthroplasty)
    referred_on = date.fromisoformat(changes["referred_on"]) if "referred_on" in changes else snapshot.referred_on
    return EpisodeSnapshot(
        snapshot.id, decision.to_state, referred_on, arthroplasty, snapshot.rules, (*snapshot.events, event),
        snapshot.side, snapshot.patient_ref,
    )


def replay(
    snapshot: EpisodeSnapshot, steps: Iterable[Step], today: date, override_reason: str | None = None
) -> Replayed:
    """Decide ``steps`` in order on ``snapshot``; a step's own override reason wins over ``override_reason``."""
    result = Replayed(snapshot)
    stopped_at: int | None = None
    for step in steps:
        if stopped_at is not None:
            blocked = f"it follows row {stopped_at} of the same episode, which must be fixed first."
            result.problems.append(Problem(step.row, step.trigger, "not_checked", (blocked,)))
            continue
        if step.trigger == OPEN:
            result.problems.append(
                Problem(
                    step.row,
                    OPEN,
                    "invalid",
                    (
                        "a second open row for the same patient, side and episode_key; give episode_key a different "
                        "value on each episode's rows to tell two episodes apart.",
                    ),
                )  # fmt: skip
            )
            stopped_at = step.row
            continue
        if step.date_problem:
            result.problems.append(Problem(step.row, step.trigger, "invalid", (step.date_problem,)))
            stopped_at = step.row
            continue
        reason = step.override_reason or override_reason
        try:
            decision = decide(result.snapshot, step.trigger, step.fields, step.occurred_on, today, reason)
        except Refused as exc:
            result.problems.append(Problem(step.row, step.trigger, "refused", tuple(exc.details)))
            decision = decide(result.snapshot, step.trigger, step.fields, step.occurred_on, today, REPLAYED_OVERRIDE)
        except InvalidInput as exc:
            result.problems.append(Problem(step.row, step.trigger, "invalid", (exc.message,)))
            stopped_at = step.row
            continue
        else:
            result.accepted.append(Accepted(step.row, decision))
        result.snapshot = after(result.snapshot, decision)
    return result
