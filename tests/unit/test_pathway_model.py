"""Model-based test: random sequences of triggers, dates and values, engine vs. reference model.

The reference model below is written from PATHWAY.md alone, as tables and a few lines per
guard; it imports nothing from the engine but the function under test. For every step
hypothesis picks a trigger (mostly one possible from the current state), a date, field
values (now and then a bad one) and sometimes an override, and the engine's decision must
match the model's: bad input, refused with exactly the failing guards, or allowed into the
predicted state (with exactly those guards overridden).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from pathway.domain.decisions import EpisodeSnapshot, decide
from pathway.domain.history import RecordedEvent
from pathway.domain.rules import RuleSet
from pathway.errors import InvalidInput, Refused
from tests.pathway_spec import DEFAULT_RULES, TRANSITIONS

TERMINAL = {"discharged", "closed"}
GUARDS: dict[str, set[str]] = {
    "order_mri": {"radiographs_first"},
    "confirm_diagnosis": {"mri_supports_ifi"},
    "inject": {
        "injection_guidance_allowed",
        "repeat_injection_after_temporary_relief",
        "injection_min_interval_days",
        "injection_max_per_365_days",
    },
    "reassess": {"reassessment_window_open_days"},
    "refer_to_surgery": {
        "conservative_min_days",
        "latest_reassessment_persistent",
        "surgery_requires_injection",
        "surgery_requires_positive_diagnostic_injection",
    },
    "record_surgery": {"open_includes_neurolysis"},
}
BAD = object()  # a field value the generator made invalid on purpose

REFERRED = date(2026, 1, 5)
TODAY = date(2046, 1, 5)
ENDINGS = {"close", "amend", "discharge"}  # possible almost everywhere: drawn less often, to get deep
DELTAS = [0, 0, 1, 3, 10, 30, 41, 42, 45, 60, 89, 90, 91, 120, 200, 364, 365]


@dataclass
class Model:
    """The episode as PATHWAY.md describes it, kept by the test."""

    rules: dict[str, Any]
    state: str = "referred"
    latest: date = REFERRED
    arthroplasty: bool = False
    radiograph: str | None = None
    mri: dict[str, Any] | None = None
    conservative_start: date | None = None
    anchor: date | None = None
    reassessment: str | None = None
    injections: list[tuple[date, bool]] = field(default_factory=list)  # (date, corticosteroid)
    responses: list[tuple[float | None, str]] = field(default_factory=list)  # (pain reduction %, relief)
    records: list[tuple[str, date, dict[str, Any]]] = field(default_factory=list)  # for likely duplicates

    @staticmethod
    def stored(trigger: str, values: dict[str, Any]) -> dict[str, Any]:
        """The values as the engine stores them (with the derived pain reduction)."""
        if trigger == "record_injection_response":
            before, after = values["pain_before"], values["pain_after"]
            return {**values, "pain_reduction_pct": None if before == 0 else round(100 * (before - after) / before, 1)}
        return values

    def duplicate(self, trigger: str, values: dict[str, Any], on: date) -> bool:
        return (trigger, on, self.stored(trigger, values)) in self.records

    def destination(self, trigger: str, values: dict[str, Any]) -> str | None:
        if trigger == "reassess" and self.state == "conservative_care" and values.get("outcome") == "resolved":
            return "discharged"
        return TRANSITIONS.get(trigger, {}).get(self.state)

    def invalid(self, trigger: str, values: dict[str, Any], on: date, override: str | None) -> bool:
        if trigger not in TRANSITIONS or self.state in TERMINAL or self.destination(trigger, values) is None:
            return True
        if BAD in values.values() or (override is not None and not override.strip()):
            return True
        if on > TODAY or on < self.latest:
            return True
        if trigger == "schedule_surgery":
            if (values["approach"] == "open") != ("open_indication" in values):
                return True
            return date.fromisoformat(values["planned_on"]) < on
        if trigger == "close":
            if (values["reason"] == "alternative_diagnosis") != ("diagnosis" in values):
                return True
            return values.get("diagnosis") == "adverse_reaction_to_metal_debris" and not self.arthroplasty
        if trigger == "amend":
            return values["has_hip_arthroplasty"] == self.arthroplasty
        return False

    def failing(self, trigger: str, values: dict[str, Any], on: date) -> set[str]:
        r, failed = self.rules, set()
        if trigger == "order_mri" and self.radiograph is None:
            failed.add("radiographs_first")
        if trigger == "confirm_diagnosis":
            mri = self.mri
            narrow = mri is not None and (mri["ifs_mm"] <= r["mri_ifs_max_mm"] or mri["qfs_mm"] <= r["mri_qfs_max_mm"])
            if not (narrow and (mri["qf_edema"] or mri["qf_fatty_replacement"])):
                failed.add("mri_supports_ifi")
        if trigger == "inject":
            if values["guidance"] not in r["injection_guidance_allowed"]:
                failed.add("injection_guidance_allowed")
            if self.injections and (not self.responses or self.responses[-1][1] != "temporary"):
                failed.add("repeat_injection_after_temporary_relief")
            steroids = [d for d, steroid in self.injections if steroid]
            if values["agent"] == "corticosteroid_anaesthetic":
                if steroids and (on - max(steroids)).days < r["injection_min_interval_days"]:
                    failed.add("injection_min_interval_days")
                window = [d for d in steroids if on - timedelta(days=364) <= d <= on]
                if len(window) >= r["injection_max_per_365_days"]:
                    failed.add("injection_max_per_365_days")
        if trigger == "reassess" and (on - self.anchor).days < r["reassessment_window_open_days"]:
            failed.add("reassessment_window_open_days")
        if trigger == "refer_to_surgery":
            if (on - self.conservative_start).days < r["conservative_min_days"]:
                failed.add("conservative_min_days")
            if self.reassessment != "persistent":
                failed.add("latest_reassessment_persistent")
            if r["surgery_requires_injection"] and not self.injections:
                failed.add("surgery_requires_injection")
            positive = [p for p, _ in self.responses if p is not None and p >= r["diagnostic_relief_min_pct"]]
            if r["surgery_requires_positive_diagnostic_injection"] and not positive:
                failed.add("surgery_requires_positive_diagnostic_injection")
        if trigger == "record_surgery" and values["approach"] == "open" and not values["sciatic_neurolysis"]:
            failed.add("open_includes_neurolysis")
        if self.duplicate(trigger, values, on):
            failed.add("not_a_duplicate")
        return failed

    def apply(self, trigger: str, values: dict[str, Any], on: date) -> None:
        self.records.append((trigger, on, self.stored(trigger, values)))
        self.state = self.destination(trigger, values) or self.state
        self.latest = max(self.latest, on)
        if trigger == "record_radiographs":
            self.radiograph = values["result"]
        elif trigger == "record_mri":
            self.mri = values
        elif trigger == "start_conservative":
            self.conservative_start = self.anchor = on
        elif trigger == "return_to_conservative":
            self.anchor = on
        elif trigger == "reassess":
            self.anchor, self.reassessment = on, values["outcome"]
        elif trigger == "inject":
            self.injections.append((on, values["agent"] == "corticosteroid_anaesthetic"))
        elif trigger == "record_injection_response":
            before, after = values["pain_before"], values["pain_after"]
            self.responses.append(
                (None if before == 0 else round(100 * (before - after) / before, 1), values["relief"])
            )
        elif trigger == "amend":
            self.arthroplasty = values["has_hip_arthroplasty"]


# Field generators: (raw text for the engine, typed value for the model or BAD).
def _choice(options: list[str]) -> st.SearchStrategy[tuple[str, Any]]:
    return st.sampled_from(options).map(lambda v: (v, v))


def _int(lo: int, hi: int) -> st.SearchStrategy[tuple[str, Any]]:
    return st.integers(lo, hi).map(lambda v: (str(v), v))


BOOL = st.sampled_from([("true", True), ("false", False), ("yes", True), ("no", False)])
PAIN = _int(0, 10)
# Around an injection: pairs that land exactly on 50 % and 80 % reductions come up often.
BEFORE = st.sampled_from([0, 2, 4, 5, 8, 10]).map(lambda v: (str(v), v))
AFTER = st.sampled_from([0, 1, 2, 4, 5, 8]).map(lambda v: (str(v), v))
MM = st.sampled_from([3, 10, 12.5, 15, 15.1, 40]).map(lambda v: (str(v), v))
MHHS = st.sampled_from([("0", 0), ("55.5", 55.5), ("100", 100)])
TEXT = st.sampled_from([("patient prefers to wait", "patient prefers to wait")])
CORRUPT = {
    "int": ["11", "-1", "x", ""],
    "number": ["0", "101", "nan", "1e3"],
    "mhhs": ["55.55", "-3", "100.1"],
    "bool": ["maybe", ""],
    "enum": ["bogus", ""],
    "text": ["", "   ", "bell\x07"],
    "date": ["2026-02-30", "tomorrow"],
}

# trigger -> [(field, kind, strategy, required)]
FIELDS: dict[str, list[tuple[str, str, st.SearchStrategy, bool]]] = {
    "record_radiographs": [("result", "enum", _choice(["negative", "equivocal", "nondiagnostic", "suggestive_ifi"]),
                            True)],
    "record_mri": [("ifs_mm", "number", MM, True), ("qfs_mm", "number", MM, True), ("qf_edema", "bool", BOOL, True),
                   ("qf_fatty_replacement", "bool", BOOL, True), ("positioning", "text", TEXT, False)],
    "start_conservative": [("components", "enum", _choice(["nsaids", "physical_therapy,nsaids"]), False),
                           ("pain", "int", PAIN, False), ("mhhs", "mhhs", MHHS, False)],
    "inject": [("guidance", "enum", _choice(["ultrasound", "ct", "fluoroscopy"]), True),
               ("agent", "enum", _choice(["corticosteroid_anaesthetic", "anaesthetic_only"]), True)],
    "record_injection_response": [("pain_before", "int", BEFORE, True), ("pain_after", "int", AFTER, True),
                                  ("relief", "enum", _choice(["none", "temporary", "sustained"]), True)],
    "record_followup": [("pain", "int", PAIN, True), ("mhhs", "mhhs", MHHS, False), ("note", "text", TEXT, False)],
    "reassess": [("outcome", "enum", _choice(["resolved", "improved", "persistent", "persistent", "persistent"]), True),
                 ("pain", "int", PAIN, True), ("mhhs", "mhhs", MHHS, False)],
    "return_to_conservative": [("reason", "text", TEXT, True)],
    "schedule_surgery": [("approach", "enum", _choice(["endoscopic", "open"]), True),
                         ("open_indication", "enum", _choice(["severe", "complex"]), False)],
    "record_surgery": [("approach", "enum", _choice(["endoscopic", "open"]), True),
                       ("sciatic_neurolysis", "bool", BOOL, True)],
    "discharge": [("outcome", "enum", _choice(["resolved", "improved", "persistent"]), True),
                  ("pain", "int", PAIN, False), ("mhhs", "mhhs", MHHS, False)],
    "close": [("reason", "enum", _choice(["alternative_diagnosis", "withdrawn", "lost_to_follow_up"]), True),
              ("diagnosis", "enum", _choice(["deep_gluteal_syndrome", "adverse_reaction_to_metal_debris"]), False)],
    "amend": [("has_hip_arthroplasty", "bool", BOOL, True), ("reason", "text", TEXT, True)],
}  # fmt: skip

RULE_CHOICES = st.fixed_dictionaries(
    {
        "conservative_min_days": st.sampled_from([0, 30, 90]),
        "reassessment_window_open_days": st.sampled_from([1, 30, 90]),
        "injection_min_interval_days": st.sampled_from([0, 42]),
        "injection_max_per_365_days": st.sampled_from([1, 3]),
        "injection_guidance_allowed": st.sampled_from([["ultrasound"], ["ultrasound", "ct"]]),
        "surgery_requires_injection": st.booleans(),
        "surgery_requires_positive_diagnostic_injection": st.booleans(),
        "diagnostic_relief_min_pct": st.sampled_from([50, 80]),
    }
)


class PathwayComparison(RuleBasedStateMachine):
    @initialize(rules=RULE_CHOICES, arthroplasty=st.booleans())
    def start(self, rules: dict[str, Any], arthroplasty: bool) -> None:
        self.model = Model({**DEFAULT_RULES, **rules}, arthroplasty=arthroplasty)
        self.rule_set = RuleSet(1, self.model.rules)
        self.events: list[RecordedEvent] = []
        self.arthroplasty = arthroplasty
        self.state = "referred"

    def _date(self, data: st.DataObject, trigger: str) -> date:
        """Mostly days after the latest date; often the boundary of the trigger's rule; rarely the future."""
        model, r, dice = self.model, self.model.rules, data.draw(st.integers(0, 99))
        steroids = [d for d, steroid in model.injections if steroid]
        boundaries = {
            "inject": [(d, r["injection_min_interval_days"]) for d in steroids[-1:]] * 3
            + [(d, days) for d in steroids[-3:] for days in (364, 365)],
            "reassess": [(model.anchor, r["reassessment_window_open_days"])],
            "refer_to_surgery": [(model.conservative_start, r["conservative_min_days"])],
        }
        choices = [(anchor, days) for anchor, days in boundaries.get(trigger, []) if anchor is not None]
        if choices and dice < 60:
            anchor, days = data.draw(st.sampled_from(choices))
            return max(model.latest, anchor + timedelta(days=days + data.draw(st.sampled_from([-1, 0, 0, 1]))))
        if dice == 99:
            return TODAY + timedelta(days=1)
        delta = data.draw(st.sampled_from([*DELTAS, -1] if dice > 95 else DELTAS), label="days after latest")
        return model.latest + timedelta(days=delta)

    def _fields(self, data: st.DataObject, trigger: str, on: date) -> tuple[dict[str, str], dict[str, Any]]:
        raw: dict[str, str] = {}
        values: dict[str, Any] = {}
        for name, _, strategy, required in FIELDS.get(trigger, []):
            if required or data.draw(st.booleans()):
                raw[name], values[name] = data.draw(strategy)
        if trigger == "schedule_surgery":
            planned = on + timedelta(days=data.draw(st.sampled_from([-1, 0, 30])))
            raw["planned_on"], values["planned_on"] = planned.isoformat(), planned.isoformat()
        return raw, values

    def _spoil(self, data: st.DataObject, trigger: str, raw: dict[str, str], values: dict[str, Any]) -> None:
        """Make one thing about the input wrong: a field left out, a bad value, a field too many."""
        specs = FIELDS.get(trigger, [])
        how = data.draw(st.sampled_from(["missing", "value", "unknown"] if specs else ["unknown"]), label="spoil")
        name, kind, _, required = data.draw(st.sampled_from(specs)) if specs else ("colour", "text", None, False)
        if how == "missing":
            raw.pop(name, None)
            values.pop(name, None)
            if required:
                values[name] = BAD
        elif how == "value":
            raw[name], values[name] = data.draw(st.sampled_from(CORRUPT[kind])), BAD
        else:
            raw["colour"], values["colour"] = "blue", BAD

    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        possible = sorted(t for t, edges in TRANSITIONS.items() if self.model.state in edges)
        forward = [t for t in possible if t not in ENDINGS]
        dice = data.draw(st.integers(0, 99))
        pool = forward if forward and dice < 80 else possible if possible and dice < 88 else [*TRANSITIONS, "teleport"]
        trigger = data.draw(st.sampled_from(pool), label="trigger")
        on = self._date(data, trigger)
        raw, values = self._fields(data, trigger, on)
        if data.draw(st.integers(0, 99), label="bad input") < 6:
            self._spoil(data, trigger, raw, values)
        dice = data.draw(st.integers(0, 49), label="override")
        override = None if dice < 36 else " " if dice == 49 else "clinical judgement"
        self._compare(trigger, raw, values, on, override)

    def _compare(self, trigger: str, raw: dict[str, str], values: dict[str, Any], on: date, override: str | None):
        model = self.model
        snapshot = EpisodeSnapshot(1, self.state, REFERRED, self.arthroplasty, self.rule_set, list(self.events))
        try:
            decision = decide(snapshot, trigger, raw, on.isoformat(), TODAY, override)
        except InvalidInput:
            assert model.invalid(trigger, values, on, override), f"engine said bad input: {trigger} {raw} {on}"
            return
        except Refused as refused:
            assert not model.invalid(trigger, values, on, override), f"model says bad input: {trigger} {raw} {on}"
            assert override is None
            assert {v.guard for v in refused.verdicts} == model.failing(trigger, values, on) != set()
            return
        assert not model.invalid(trigger, values, on, override), f"model says bad input: {trigger} {raw} {on}"
        failing = model.failing(trigger, values, on)
        assert override is not None or not failing
        assert set(decision.overridden) == failing
        duplicate = {"not_a_duplicate"} if model.duplicate(trigger, values, on) else set()
        assert {v.guard for v in decision.verdicts} == GUARDS.get(trigger, set()) | duplicate
        assert {v.guard for v in decision.verdicts if not v.passed} == failing
        assert decision.to_state == model.destination(trigger, values)
        assert decision.occurred_on == on
        if trigger == "record_injection_response":
            before, after = values["pain_before"], values["pain_after"]
            expected = None if before == 0 else round(100 * (before - after) / before, 1)
            assert decision.fields["pain_reduction_pct"] == expected
        model.apply(trigger, values, on)
        self.events.append(RecordedEvent(len(self.events) + 2, trigger, self.state, decision.to_state, on,
                                         decision.fields))  # fmt: skip
        self.state = decision.to_state
        self.arthroplasty = decision.attribute_changes.get("has_hip_arthroplasty", self.arthroplasty)

    @invariant()
    def same_state(self) -> None:
        if hasattr(self, "model"):
            assert self.state == self.model.state and self.arthroplasty == self.model.arthroplasty


PathwayComparison.TestCase.settings = settings(
    max_examples=200, stateful_step_count=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_engine_matches_the_reference_model = PathwayComparison.TestCase
