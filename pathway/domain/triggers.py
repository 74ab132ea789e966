"""The triggers of PATHWAY.md: where each may fire, its fields, checks and guards.

Input checks (``validate``) are not guards: they reject impossible input and can never
be overridden. Guards are clinical rules that a clinician may override with a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pathway.domain import guards as g
from pathway.domain.fields import (
    MHHS,
    PAIN,
    BoolField,
    DateField,
    EnumField,
    EnumListField,
    Field,
    IntField,
    NumberField,
    TextField,
    canonical_number,
)
from pathway.domain.patients import PatientRefField
from pathway.domain.rules import GUIDANCE
from pathway.domain.states import NON_TERMINAL, SIDES

COMPONENTS = ("activity_modification", "nsaids", "physical_therapy")
OUTCOMES = ("resolved", "improved", "persistent")
APPROACHES = ("endoscopic", "open")
CLOSE_REASONS = ("alternative_diagnosis", "withdrawn", "lost_to_follow_up", "declined_treatment")
DIAGNOSES = (
    "greater_trochanteric_bursitis",
    "gluteus_medius_tendinosis",
    "hamstring_tendinopathy",
    "deep_gluteal_syndrome",
    "adverse_reaction_to_metal_debris",
    "other",
)


@dataclass(frozen=True)
class EpisodeAttributes:
    """Episode attributes that input checks may need (not the history); ``amend`` corrects them."""

    has_hip_arthroplasty: bool
    side: str | None = None
    referred_on: date | None = None
    patient_ref: str | None = None

    def value(self, name: str) -> Any:
        value = getattr(self, name)
        return value.isoformat() if isinstance(value, date) else value

    def amended(self, fields: dict[str, Any]) -> EpisodeAttributes:
        """These attributes after an ``amend`` with ``fields``."""
        changes = {name: fields[name] for name in AMENDABLE if name in fields}
        if "referred_on" in changes:
            changes["referred_on"] = date.fromisoformat(changes["referred_on"])
        return EpisodeAttributes(**{**self.__dict__, **changes})


# The episode attributes `amend` corrects, in the order they are shown.
AMENDABLE = ("has_hip_arthroplasty", "side", "referred_on", "patient_ref")


Validator = Callable[[dict[str, Any], date, EpisodeAttributes], list[str]]
Deriver = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Edge:
    sources: tuple[str, ...]
    dest: str  # "=" keeps the state
    when_resolved: bool | None = None  # reassess: only when outcome == resolved (True) or not (False)


@dataclass(frozen=True)
class TriggerSpec:
    name: str
    edges: tuple[Edge, ...]
    fields: tuple[Field, ...] = ()
    guards: tuple[g.Guard, ...] = ()
    validate: Validator | None = None
    derive: Deriver | None = None
    summary: str = ""
    derived: tuple[str, ...] = ()  # the fields ``derive`` adds (stored on the event, never given)

    @property
    def sources(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for edge in self.edges:
            seen.update(dict.fromkeys(edge.sources))
        return tuple(seen)

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


def _one(sources: str | tuple[str, ...], dest: str) -> tuple[Edge, ...]:
    return (Edge((sources,) if isinstance(sources, str) else sources, dest),)


def _pain(name: str = "pain", required: bool = True) -> IntField:
    return IntField(name, required=required, **PAIN)


def _mhhs(required: bool = False) -> NumberField:
    return NumberField("mhhs", required=required, **MHHS)


def _schedule_checks(fields: dict[str, Any], occurred_on: date, _: EpisodeAttributes) -> list[str]:
    problems = []
    if fields["approach"] == "open" and "open_indication" not in fields:
        problems.append("an open approach needs open_indication (severe, endoscopic_not_feasible or complex).")
    if fields["approach"] == "endoscopic" and "open_indication" in fields:
        problems.append("open_indication applies only to an open approach; remove it for an endoscopic one.")
    if date.fromisoformat(fields["planned_on"]) < occurred_on:
        problems.append(f"planned_on {fields['planned_on']} is before the scheduling date {occurred_on}.")
    return problems


def _close_checks(fields: dict[str, Any], _: date, attrs: EpisodeAttributes) -> list[str]:
    problems = []
    if fields["reason"] == "alternative_diagnosis" and "diagnosis" not in fields:
        problems.append("reason alternative_diagnosis needs a diagnosis (e.g. greater_trochanteric_bursitis).")
    if fields["reason"] != "alternative_diagnosis" and "diagnosis" in fields:
        problems.append("diagnosis is given only with reason alternative_diagnosis.")
    if fields.get("diagnosis") == "adverse_reaction_to_metal_debris" and not attrs.has_hip_arthroplasty:
        problems.append(
            "adverse_reaction_to_metal_debris needs a hip arthroplasty on this side; "
            "record it first with the amend trigger if the episode is wrong."
        )
    return problems


def _shown(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _amend_checks(fields: dict[str, Any], occurred_on: date, attrs: EpisodeAttributes) -> list[str]:
    given = [name for name in AMENDABLE if name in fields]
    if not given:
        return [f"amend needs at least one of {', '.join(AMENDABLE)} (with --set NAME=VALUE) besides the reason."]
    problems = []
    for name in given:
        current = attrs.value(name)
        if current is not None and fields[name] == current:
            what = "the patient reference" if name == "patient_ref" else f"{name} {_shown(current)}"
            problems.append(f"{name} is already {'that' if name == 'patient_ref' else _shown(current)}; "
                            f"leave it out (there is nothing to amend in {what}).")  # fmt: skip
    referred = fields.get("referred_on")
    if referred is not None and date.fromisoformat(referred) > occurred_on:
        problems.append(f"referred_on {referred} is after the amendment's date {occurred_on}; a referral is past.")
    return problems


def _pain_reduction(fields: dict[str, Any]) -> dict[str, Any]:
    before, after = fields["pain_before"], fields["pain_after"]
    pct = None if before == 0 else canonical_number(round(100 * (before - after) / before, 1))
    return {"pain_reduction_pct": pct}


# The episode attributes as fields: what `amend` changes, and what correcting the opening event may set.
_ATTRIBUTES = (
    BoolField("has_hip_arthroplasty", required=False),
    EnumField("side", required=False, choices=SIDES),
    DateField("referred_on", required=False),
    PatientRefField("patient_ref", required=False, help="the site's patient identifier"),
)

_SPECS = (
    TriggerSpec("order_radiographs", _one("referred", "radiographs_ordered"), summary="order hip radiographs"),
    TriggerSpec(
        "record_radiographs",
        _one("radiographs_ordered", "radiographs_reported"),
        (EnumField("result", choices=("negative", "equivocal", "nondiagnostic", "suggestive_ifi")),),
        summary="record the radiograph report",
    ),
    TriggerSpec(
        "order_mri",
        _one(("referred", "radiographs_ordered", "radiographs_reported"), "mri_ordered"),
        guards=(g.radiographs_first,),
        summary="order MRI without IV contrast",
    ),
    TriggerSpec(
        "record_mri",
        _one("mri_ordered", "mri_reported"),
        (
            NumberField("ifs_mm", lo=0, hi=100, lo_inclusive=False, help="ischiofemoral space"),
            NumberField("qfs_mm", lo=0, hi=100, lo_inclusive=False, help="quadratus femoris space"),
            BoolField("qf_edema"),
            BoolField("qf_fatty_replacement"),
            TextField("positioning", required=False, max_length=200, help="leg position during the scan"),
        ),
        summary="record the MRI report",
    ),
    TriggerSpec(
        "confirm_diagnosis",
        _one(("radiographs_reported", "mri_reported"), "diagnosed"),
        guards=(g.mri_supports_ifi,),
        summary="confirm ischiofemoral impingement",
    ),
    TriggerSpec(
        "start_conservative",
        _one("diagnosed", "conservative_care"),
        (
            EnumListField("components", required=False, default=list(COMPONENTS), choices=COMPONENTS),
            _pain(required=False),
            _mhhs(),
        ),
        summary="start conservative care (starts the conservative clock)",
    ),
    TriggerSpec(
        "inject",
        _one("conservative_care", "injection_done"),
        (
            EnumField("guidance", choices=GUIDANCE),
            EnumField("agent", choices=("corticosteroid_anaesthetic", "anaesthetic_only")),
        ),
        guards=(
            g.injection_guidance_allowed,
            g.repeat_injection_after_temporary_relief,
            g.injection_min_interval_days,
            g.injection_max_per_365_days,
        ),
        summary="give an image-guided injection",
    ),
    TriggerSpec(
        "record_injection_response",
        _one("injection_done", "conservative_care"),
        (_pain("pain_before"), _pain("pain_after"), EnumField("relief", choices=("none", "temporary", "sustained"))),
        derive=_pain_reduction,
        summary="record the diagnostic and therapeutic response",
        derived=("pain_reduction_pct",),
    ),
    TriggerSpec(
        "record_followup",
        _one(("conservative_care", "post_operative"), "="),
        (_pain(), _mhhs(), TextField("note", required=False)),
        summary="record a follow-up visit",
    ),
    TriggerSpec(
        "reassess",
        (Edge(("conservative_care",), "discharged", True), Edge(("conservative_care",), "conservative_care", False)),
        (EnumField("outcome", choices=OUTCOMES), _pain(), _mhhs()),
        guards=(g.reassessment_window_open_days,),
        summary="reassess after 3-6 months (resolved discharges)",
    ),
    TriggerSpec(
        "refer_to_surgery",
        _one("conservative_care", "surgical_referral"),
        guards=(
            g.conservative_min_days,
            g.latest_reassessment_persistent,
            g.surgery_requires_injection,
            g.surgery_requires_positive_diagnostic_injection,
        ),
        summary="refer for surgery after failed conservative care",
    ),
    TriggerSpec(
        "return_to_conservative",
        _one(("surgical_referral", "surgery_scheduled"), "conservative_care"),
        (TextField("reason"),),
        summary="back to conservative care (declined, or advised against surgery)",
    ),
    TriggerSpec(
        "schedule_surgery",
        _one("surgical_referral", "surgery_scheduled"),
        (
            EnumField("approach", choices=APPROACHES),
            EnumField("open_indication", required=False, choices=("severe", "endoscopic_not_feasible", "complex")),
            DateField("planned_on"),
        ),
        validate=_schedule_checks,
        summary="schedule surgery",
    ),
    TriggerSpec(
        "record_surgery",
        _one("surgery_scheduled", "post_operative"),
        (EnumField("approach", choices=APPROACHES), BoolField("sciatic_neurolysis")),
        guards=(g.open_includes_neurolysis,),
        summary="record the operation",
    ),
    TriggerSpec(
        "discharge",
        _one(("conservative_care", "post_operative"), "discharged"),
        (EnumField("outcome", choices=OUTCOMES), _pain(required=False), _mhhs()),
        summary="discharge with an outcome",
    ),
    TriggerSpec(
        "close",
        _one(NON_TERMINAL, "closed"),
        (EnumField("reason", choices=CLOSE_REASONS), EnumField("diagnosis", required=False, choices=DIAGNOSES)),
        validate=_close_checks,
        summary="close the episode without discharge",
    ),
    TriggerSpec(
        "amend",
        _one(NON_TERMINAL, "="),
        (*_ATTRIBUTES, TextField("reason")),
        validate=_amend_checks,
        summary="correct an episode attribute (arthroplasty, side, referral date, patient)",
    ),
)

TRIGGERS: Mapping[str, TriggerSpec] = {spec.name: spec for spec in _SPECS}

# The opening event is not a trigger; `pathway correct ID 1` checks its fields with this.
OPENING = TriggerSpec("open", (), _ATTRIBUTES, summary="open the episode")
