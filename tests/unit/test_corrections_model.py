"""Model-based test: random steps, corrections and voids, the engine's effective history vs. a reference.

The reference here knows the effective history from PATHWAY.md's "Corrections" alone: a
void counts unless it is voided itself, the latest counted correction of an event wins,
and the effective history is replayed step by step through the reference model of the
pathway (``test_pathway_model.Model``), each step on its own date. From that it predicts
whether a proposed correction or void is bad input, refused for later steps (and which
steps and guards), or accepted, and what state the episode is then in. The engine's
pure core (``domain.corrections.propose``, ``domain.effective.replay``) must agree.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from pathway.domain.corrections import correction_fields, propose
from pathway.domain.decisions import EpisodeSnapshot, decide
from pathway.domain.effective import replay
from pathway.domain.history import RecordedEvent
from pathway.domain.rules import RuleSet
from pathway.errors import InvalidInput, Refused
from tests.pathway_spec import DEFAULT_RULES, TRANSITIONS
from tests.unit.test_pathway_model import FIELDS, REFERRED, RULE_CHOICES, TERMINAL, TODAY, Model

SAME_STATE = {"record_followup", "amend"}
CORRECTABLE = {t for t, specs in FIELDS.items() if specs} | {"order_radiographs", "order_mri", "confirm_diagnosis"}
LABEL = re.compile(r"^event (\d+) \(")


def forced(trigger: str, values: dict[str, Any], state: str) -> str:
    """Where a step leads when its state does not allow it (it still happened)."""
    if trigger in SAME_STATE:
        return state
    if trigger == "reassess" and values.get("outcome") == "resolved":
        return "discharged"
    return next(iter(TRANSITIONS[trigger].values()))


class Reference(Model):
    """The reference pathway, judging a step even where its state would not allow it."""

    def failing(self, trigger: str, values: dict[str, Any], on: date) -> set[str]:
        anchor, start = self.anchor, self.conservative_start
        self.anchor, self.conservative_start = anchor or date.max, start or date.max  # "not started" fails
        try:
            return super().failing(trigger, values, on)
        finally:
            self.anchor, self.conservative_start = anchor, start

    def bad_input(self, trigger: str, values: dict[str, Any], on: date) -> bool:
        state = self.state
        self.state = next(iter(TRANSITIONS[trigger]))  # judge the input alone
        try:
            return self.invalid(trigger, values, on, None)
        finally:
            self.state = state


@dataclass
class Expected:
    state: str
    statuses: dict[int, str]
    effective: list[tuple[int, str, date, dict[str, Any]]]
    problems: set[tuple[int, str]] = field(default_factory=set)  # (seq, guard); guard "" = bad input


def reference(recorded: list[RecordedEvent], rules: dict[str, Any]) -> Expected:
    voids: dict[int, list[int]] = {}
    for e in recorded:
        if e.trigger == "entered_in_error":
            voids.setdefault(e.fields["seq"], []).append(e.seq)

    def counts(seq: int) -> bool:
        return not any(counts(v) for v in voids.get(seq, []))

    values = {e.seq: (dict(e.fields), e.occurred_on) for e in recorded}
    corrected_by: dict[int, int] = {}
    standing: dict[int, set[str]] = {e.seq: set(e.overridden_guards) for e in recorded}
    for e in recorded:
        if e.trigger in ("correct", "entered_in_error") and counts(e.seq):
            for item in e.fields.get("overrides", []):
                standing[item["seq"]] |= set(item["guards"])
        if e.trigger == "correct" and counts(e.seq):
            target = e.fields["seq"]
            fields, on = values[target]
            new_on = e.fields.get("occurred_on")
            values[target] = ({**fields, **e.fields.get("set", {})}, date.fromisoformat(new_on) if new_on else on)
            corrected_by[target] = e.seq
    statuses = {}
    for e in recorded:
        if not counts(e.seq):
            statuses[e.seq] = f"entered in error by {max(v for v in voids[e.seq] if counts(v))}"
        elif e.seq in corrected_by:
            statuses[e.seq] = f"corrected by {corrected_by[e.seq]}"
        else:
            statuses[e.seq] = "effective"
    model = Reference(rules)
    expected = Expected("referred", statuses, [])
    for e in recorded[1:]:
        if e.trigger in ("correct", "entered_in_error") or not counts(e.seq):
            continue
        fields, on = values[e.seq]
        trigger = e.trigger
        fields = {k: v for k, v in fields.items() if k != "pain_reduction_pct"}
        possible = model.state not in TERMINAL and model.destination(trigger, fields) is not None
        keys = model.failing(trigger, fields, on)
        if not possible:
            keys.add("transition_possible")
        keys -= standing[e.seq]
        expected.problems |= {(e.seq, g) for g in keys}
        if model.bad_input(trigger, fields, on):
            expected.problems.add((e.seq, ""))
        destination = model.destination(trigger, fields) if possible else forced(trigger, fields, model.state)
        model.apply(trigger, fields, on)
        model.state = destination
        expected.effective.append((e.seq, trigger, on, model.stored(trigger, fields)))
    expected.state = model.state
    return expected


class CorrectionsComparison(RuleBasedStateMachine):
    @initialize(rules=RULE_CHOICES)
    def start(self, rules: dict[str, Any]) -> None:
        self.rules = {**DEFAULT_RULES, **rules}
        self.rule_sets = {1: RuleSet(1, self.rules)}
        opening = {"patient_ref": "MRN-1", "side": "left", "referred_on": REFERRED.isoformat(),
                   "has_hip_arthroplasty": False}  # fmt: skip
        self.recorded = [RecordedEvent(1, "open", None, "referred", REFERRED, opening, 1)]

    # -- the engine's view ------------------------------------------------------------

    def now(self) -> Any:
        return replay(self.recorded)

    def snapshot(self) -> EpisodeSnapshot:
        result = self.now()
        a = result.attributes
        return EpisodeSnapshot(1, result.state, a.referred_on, a.has_hip_arthroplasty, self.rule_sets[1],
                               result.events, a.side, a.patient_ref, self.recorded, self.rule_sets)  # fmt: skip

    def _values(self, data: st.DataObject, trigger: str, on: date) -> dict[str, str]:
        raw = {}
        for name, _, strategy, required in FIELDS.get(trigger, []):
            if required or data.draw(st.booleans()):
                raw[name] = data.draw(strategy)[0]
        if trigger == "schedule_surgery":
            raw["planned_on"] = (on + timedelta(days=data.draw(st.sampled_from([0, 30])))).isoformat()
            if raw["approach"] == "open":
                raw["open_indication"] = "severe"
            else:
                raw.pop("open_indication", None)
        if trigger == "close":
            raw["reason"] = "withdrawn"
            raw.pop("diagnosis", None)
        if trigger == "amend":
            raw["has_hip_arthroplasty"] = "false" if self.snapshot().has_hip_arthroplasty else "true"
        return raw

    # -- steps, corrections, voids ----------------------------------------------------

    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        snapshot = self.snapshot()
        possible = sorted(t for t, edges in TRANSITIONS.items() if snapshot.state in edges)
        if not possible:
            return
        rare = {"close", "discharge", "amend"}
        trigger = data.draw(st.sampled_from([t for t in possible if t not in rare] or possible), label="trigger")
        latest = snapshot.facts().latest_clinical_date
        on = latest + timedelta(days=data.draw(st.sampled_from([0, 1, 10, 42, 90, 100])))
        override = data.draw(st.sampled_from([None, "clinical judgement"]), label="override")
        try:
            decision = decide(snapshot, trigger, self._values(data, trigger, on), on, TODAY, override)
        except (InvalidInput, Refused):
            return
        seq = len(self.recorded) + 1
        self.recorded.append(RecordedEvent(seq, trigger, decision.from_state, decision.to_state, on,
                                           decision.fields, 1, tuple(decision.overridden)))  # fmt: skip

    def _counted(self, *, clinical: bool) -> list[RecordedEvent]:
        """Events that still count (corrections and voids among them unless ``clinical``)."""
        statuses = self.now().statuses
        meta = ("correct", "entered_in_error")
        return [
            e for e in self.recorded[1:]
            if statuses[e.seq].kind != "entered_in_error" and not (clinical and e.trigger in meta)
        ]  # fmt: skip

    @rule(data=st.data())
    def correct(self, data: st.DataObject) -> None:
        targets = [e for e in self._counted(clinical=True) if e.trigger in CORRECTABLE]
        if not targets:
            return
        target = data.draw(st.sampled_from(targets), label="target")
        current = next(e for e in self.now().events if e.seq == target.seq)
        raw: dict[str, str] = {}
        day = None
        specs = FIELDS.get(target.trigger, [])
        if specs and data.draw(st.booleans(), label="a field"):
            name, _, strategy, _ = data.draw(st.sampled_from(specs), label="field")
            raw[name] = data.draw(strategy)[0]
            if target.trigger == "schedule_surgery" and name == "approach":
                return  # open_indication would have to change with it; covered by the CLI tests
        else:
            day = current.occurred_on + timedelta(days=data.draw(st.sampled_from([-30, -1, 1, 20]), label="shift"))
        try:
            fields = correction_fields(current, raw, day, "mis-keyed", TODAY)
        except InvalidInput as exc:
            assert "nothing to correct" in str(exc) or "not" in str(exc), exc
            return
        self._propose(data, "correct", fields, target.seq)

    @rule(data=st.data())
    def void(self, data: st.DataObject) -> None:
        targets = self._counted(clinical=False)
        if targets:
            target = data.draw(st.sampled_from(targets), label="void target")
            self._propose(data, "entered_in_error", {"seq": target.seq, "reason": "entered in error"}, target.seq)

    def _propose(self, data: st.DataObject, trigger: str, fields: dict[str, Any], target: int) -> None:
        seq = len(self.recorded) + 1
        candidate = RecordedEvent(seq, trigger, "", "", TODAY, fields, 1)
        before = reference(self.recorded, self.rules)
        after = reference([*self.recorded, candidate], self.rules)
        new = after.problems - before.problems
        override = data.draw(st.sampled_from([None, "clinician accepts"]), label="correction override")
        state = self.now().state

        def attempt() -> Any:
            return propose(self.recorded, self.rule_sets, trigger=trigger, fields=fields, target=target, seq=seq,
                           state=state, rules_version=1, today=TODAY, override_reason=override)  # fmt: skip

        if trigger == "correct" and (target, "") in new:
            try:
                attempt()
            except InvalidInput:
                event(f"{trigger}: bad input")
                return
            raise AssertionError(f"the engine accepted bad input for event {target}: {fields}")
        if any(guard == "" for _, guard in new):
            try:
                attempt()
            except Refused as refused:
                assert not refused.overridable
                event(f"{trigger}: refused, not overridable")
                return
            raise AssertionError(f"the engine accepted a history with a later event out of order: {fields}")
        if new and override is None:
            try:
                attempt()
            except Refused as refused:
                assert refused.overridable
                named = {int(LABEL.match(v.message)[1]) for v in refused.verdicts}  # type: ignore[index]
                assert named == {s for s, _ in new}, (named, new)
                assert {v.guard for v in refused.verdicts} == {g for _, g in new}
                event(f"{trigger}: refused")
                return
            raise AssertionError(f"the engine accepted a change the reference refuses: {new}")
        change = attempt()
        event(f"{trigger}: accepted{' with an override' if new else ''}")
        overrides = {(o["seq"], g) for o in change.fields.get("overrides", []) for g in o["guards"]}
        assert overrides == new
        assert change.result.state == after.state
        self.recorded.append(RecordedEvent(seq, trigger, state, change.result.state, TODAY, change.fields, 1,
                                           tuple(change.overridden)))  # fmt: skip

    @invariant()
    def engine_agrees_with_the_reference(self) -> None:
        if not hasattr(self, "recorded"):
            return
        result = self.now()
        expected = reference(self.recorded, self.rules)
        assert result.state == expected.state
        assert {seq: str(s) for seq, s in result.statuses.items()} == expected.statuses
        got = [(e.seq, e.trigger, e.occurred_on, dict(e.fields)) for e in result.events[1:] if e.trigger != "open"]
        assert got == expected.effective
        judged = replay(self.recorded, self.rule_sets, TODAY)
        assert {(p.seq, v.guard) for p in judged.problems for v in p.verdicts} | {
            (p.seq, "") for p in judged.problems if p.invalid
        } == expected.problems


CorrectionsComparison.TestCase.settings = settings(
    max_examples=25 if os.environ.get("CI") else 150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_corrections_match_the_reference_model = CorrectionsComparison.TestCase
