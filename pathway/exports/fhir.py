"""The audit trail as FHIR R4 resources, FHIR Bulk Data style: one NDJSON file per type.

Each episode's events are folded, in order, into an EpisodeOfCare (its state as the
status, with the history), a Condition (ischiofemoral impingement, with laterality), a
CarePlan (conservative care and planned surgery), Procedures (injections, surgery with
its approach), Observations (pain NRS, mHHS, MRI ischiofemoral and quadratus femoris
spaces) and one Provenance per event, carrying its chain hash. Only one episode is held
in memory at a time. The codes used, and where no code system has one, are listed in
``CODES`` and in the README.

An export over a period holds each event-level resource of the period's events and the
episode-level resources (as they stood at ``--until``) of every episode with an event in
it; so that every reference resolves inside the export, it also holds the earlier
resources these refer to (the MRI measurements a Condition cites as evidence, the
injection a response is part of), without their Provenance.

Resources follow the effective history: a corrected event's resources carry its
corrected values (an Observation is then ``corrected``), a voided event's are
``entered-in-error`` and change nothing else (state, diagnosis, plan), and each
correction or void has a Provenance naming the resources it changed, the Provenance of
the event it revises (entity ``revision`` or ``removal``), who made it and why.

Pseudonymised exports reference patients by pseudonym, withhold free text, and write
each date as ``DAY0 + N days`` (N = days since the episode's referral), since FHIR
has no relative dates; ``meta.security`` carries the HL7 label PSEUDED.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from pathway.db.types import AnyRow
from pathway.domain import pseudonym as p
from pathway.domain.history import CORRECT, CORRECTIONS, VOID
from pathway.exports.records import Period, Progress, as_date, as_instant, json_value
from pathway.files import AtomicDirectory

TYPES = ("EpisodeOfCare", "Condition", "CarePlan", "Procedure", "Observation", "Provenance")
DAY0 = date(1900, 1, 1)  # pseudonymised dates: DAY0 + days since referral; obviously not a real date
EVERY = 1_000

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
PATIENT_REF_SYSTEM = "urn:pathway:patient-ref"
PSEUDONYM_SYSTEM = "urn:pathway:patient-pseudonym"
HASH_EXTENSION = "urn:pathway:fhir:event-hash"
PREV_HASH_EXTENSION = "urn:pathway:fhir:event-prev-hash"
LATERALITY_EXTENSION = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier"
PSEUDED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "PSEUDED",
    "display": "pseudonymized",
}
LATERALITY = {"left": ("7771000", "Left"), "right": ("24028007", "Right")}
PAIN_NRS = {
    "system": LOINC,
    "code": "72514-3",
    "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
}

# Pathway state -> EpisodeOfCare.status (http://hl7.org/fhir/episode-of-care-status).
EPISODE_STATUS = {
    "referred": "planned",
    "discharged": "finished",
    "closed": "cancelled",
}  # every other state: "active"


def episode_status(state: str) -> str:
    return EPISODE_STATUS.get(state, "active")


def _coded(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code} | ({"display": display} if display else {})
    return {"coding": [coding]}


def _category(system: str, code: str) -> list[dict[str, Any]]:
    return [_coded(system, code)]


OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"


@dataclass
class Fold:
    """One episode being turned into resources, event by event."""

    episode_id: int
    subject: dict[str, Any]
    side: str
    day0: date
    pseudonymised: bool
    site_zone: tzinfo
    since: date | None
    key: bytes | None = None  # the pseudonym key: set when pseudonymised
    in_period: bool = False
    state: str = "referred"
    history: list[tuple[str, date]] = field(default_factory=list)
    verification: str = "provisional"
    resolved_on: date | None = None
    plan_start: date | None = None
    components: list[str] = field(default_factory=list)
    surgery_plan: dict[str, Any] | None = None
    evidence: list[str] = field(default_factory=list)
    injections: dict[int, dict[str, Any]] = field(default_factory=dict)
    held: dict[str, dict[str, Any]] = field(default_factory=dict)  # made before the period, by "Type/id"
    made: dict[int, list[dict[str, str]]] = field(default_factory=dict)  # each event's resources, for corrections
    out: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {t: [] for t in TYPES})

    # -- values ------------------------------------------------------------------

    def day(self, on: date) -> str:
        return (DAY0 + (on - self.day0)).isoformat() if self.pseudonymised else on.isoformat()

    def instant(self, at: datetime) -> str:
        if self.pseudonymised:
            local = at.astimezone(self.site_zone).date()
            return f"{(DAY0 + (local - self.day0)).isoformat()}T00:00:00Z"
        return at.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def chain(self, event_hash: str) -> str:
        """A chain hash as exported: keyed when pseudonymised (it covers identified content)."""
        return p.keyed_hash(self.key, event_hash) if self.key is not None else event_hash

    def text(self, value: str | None) -> str | None:
        if value is None:
            return None
        return p.WITHHELD if self.pseudonymised else value

    @property
    def prefix(self) -> str:
        return f"episode-{self.episode_id}"

    def ref(self, kind: str, suffix: str = "") -> dict[str, str]:
        return {"reference": f"{kind}/{self.prefix}{suffix}"}

    def body_site(self, what: str) -> list[dict[str, Any]]:
        code, display = LATERALITY[self.side]
        laterality = {"url": LATERALITY_EXTENSION, "valueCodeableConcept": _coded(SNOMED, code, display)}
        return [{"extension": [laterality], "text": f"{self.side} {what}"}]

    def resource(self, kind: str, suffix: str, body: dict[str, Any], emit: bool | None = True) -> dict[str, Any]:
        """A resource of this episode: exported (``emit``), held in case an exported one refers to it
        (False), or left for the caller to place (None: the episode-level resources)."""
        resource: dict[str, Any] = {"resourceType": kind, "id": f"{self.prefix}{suffix}"}
        if self.pseudonymised:
            resource["meta"] = {"security": [PSEUDED]}
        resource.update(body)
        if emit:
            self.out[kind].append(resource)
        elif emit is False:
            self.held[f"{kind}/{resource['id']}"] = resource
        return resource

    # -- events ------------------------------------------------------------------

    def add(self, row: AnyRow) -> None:
        seq, trigger, status = row[1], row[5], row[19]
        counted = status != "entered_in_error"
        if status is not None and counted:  # corrected, or re-derived by a correction: as it now counts
            from_state, to_state, on, fields = row[21], row[22], as_date(row[23]), json_value(row[24])
        else:
            from_state, to_state, on, fields = row[6], row[7], as_date(row[8]), json_value(row[13])
        emit = self.since is None or on >= self.since
        self.in_period = self.in_period or emit
        targets = [self.ref("EpisodeOfCare")]
        if trigger in CORRECTIONS:
            target = int(fields["seq"])
            self.provenance(row, seq, trigger, on, targets + self.made.get(target, []), emit, revises=target)
            return
        if counted:
            if from_state != to_state:
                self.history.append((to_state, on))
            self.state = to_state
            made = self.made_by(seq, trigger, on, fields, emit)
        else:
            made = self.detached(seq, trigger, on, fields, emit)
        for resource in made:
            if not counted and resource["resourceType"] in ("Observation", "Procedure"):
                resource["status"] = "entered-in-error"
            elif status == "corrected" and resource["resourceType"] == "Observation":
                resource["status"] = "corrected"
        self.made[seq] = [{"reference": f"{r['resourceType']}/{r['id']}"} for r in made]
        self.provenance(row, seq, trigger, on, targets + self.made[seq], emit)

    def detached(self, seq: int, trigger: str, on: date, fields: dict[str, Any], emit: bool) -> list[dict[str, Any]]:
        """The resources of a voided event, leaving the episode's facts as they were without it."""
        saved = (
            self.verification,
            self.resolved_on,
            self.plan_start,
            list(self.components),
            dict(self.surgery_plan) if self.surgery_plan else None,
            list(self.evidence),
            dict(self.injections),
        )
        made = self.made_by(seq, trigger, on, fields, emit, live=False)
        (self.verification, self.resolved_on, self.plan_start, self.components, self.surgery_plan, self.evidence,
         self.injections) = saved  # fmt: skip
        return made

    def made_by(
        self, seq: int, trigger: str, on: date, fields: dict[str, Any], emit: bool, live: bool = True
    ) -> list[dict[str, Any]]:
        """The event-level resources of one event (and the episode-level facts it changes, when ``live``)."""
        made: list[dict[str, Any]] = []
        tag = f"-event-{seq}"
        if trigger == "open":
            made.append({"resourceType": "Condition", "id": f"{self.prefix}-condition"})
        elif trigger == "record_mri":
            for name, label in (("ifs_mm", "Ischiofemoral space"), ("qfs_mm", "Quadratus femoris space")):
                made.append(self.measure(f"{tag}-{name.replace('_', '-')}", on, label, fields[name], emit))
                self.evidence.append(made[-1]["id"])
        elif trigger == "confirm_diagnosis":
            self.verification = "confirmed"
        elif trigger == "start_conservative":
            self.plan_start, self.components = on, list(fields.get("components", []))
        elif trigger == "inject":
            made.append(self.injection(tag, on, fields, emit))
        elif trigger == "record_injection_response":
            injection = self.injections.get(max(self.injections, default=-1))
            if injection is not None and live:
                pct = fields.get("pain_reduction_pct")
                reduction = "" if pct is None else f" ({pct:g}% reduction)"
                injection["outcome"] = {
                    "text": f"{fields['relief']} relief; pain {fields['pain_before']} to {fields['pain_after']}"
                    f"{reduction}"
                }
            for moment in ("before", "after"):
                made.append(self.pain(f"{tag}-pain-{moment}", on, fields[f"pain_{moment}"], emit, moment, injection))
        elif trigger == "schedule_surgery":
            self.surgery_plan = {"status": "scheduled", "approach": fields["approach"],
                                 "planned_on": date.fromisoformat(fields["planned_on"])}  # fmt: skip
        elif trigger == "record_surgery":
            made.append(self.surgery(tag, on, fields, emit))
            if self.surgery_plan is not None:
                self.surgery_plan["status"] = "completed"
        elif trigger == "return_to_conservative" and self.surgery_plan is not None:
            self.surgery_plan["status"] = "cancelled"
        elif trigger == "close" and fields.get("reason") == "alternative_diagnosis":
            self.verification = "refuted"
        if trigger in ("reassess", "discharge") and fields.get("outcome") == "resolved":
            self.resolved_on = on
        if trigger in ("start_conservative", "record_followup", "reassess", "discharge"):
            if "pain" in fields:
                made.append(self.pain(f"{tag}-pain", on, fields["pain"], emit))
            if "mhhs" in fields:
                made.append(self.score(f"{tag}-mhhs", on, fields["mhhs"], emit))
        return made

    def observation(self, suffix: str, on: date, category: str, code: dict[str, Any], quantity: dict[str, Any],
                    emit: bool, **extra: Any) -> dict[str, Any]:  # fmt: skip
        return self.resource("Observation", suffix, {
            "status": "final", "category": _category(OBSERVATION_CATEGORY, category), "code": code,
            "subject": self.subject, "effectiveDateTime": self.day(on), "valueQuantity": quantity, **extra,
        }, emit)  # fmt: skip

    def pain(self, suffix: str, on: date, value: int, emit: bool, moment: str | None = None,
             injection: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        label = "Pain, 0-10 numeric rating scale" + (f", {moment} the anaesthetic injection" if moment else "")
        extra = {"partOf": [{"reference": f"Procedure/{injection['id']}"}]} if injection else {}
        quantity = {"value": value, "unit": "{score}", "system": UCUM, "code": "{score}"}
        return self.observation(suffix, on, "survey", {"coding": [PAIN_NRS], "text": label}, quantity, emit, **extra)

    def score(self, suffix: str, on: date, value: float, emit: bool) -> dict[str, Any]:
        quantity = {"value": value, "unit": "{score}", "system": UCUM, "code": "{score}"}
        return self.observation(suffix, on, "survey", {"text": "Modified Harris Hip Score (mHHS), 0-100"}, quantity,
                                emit)  # fmt: skip

    def measure(self, suffix: str, on: date, label: str, mm: float, emit: bool) -> dict[str, Any]:
        quantity = {"value": mm, "unit": "mm", "system": UCUM, "code": "mm"}
        return self.observation(suffix, on, "imaging", {"text": f"{label} on MRI"}, quantity, emit,
                                bodySite=self.body_site("hip")[0])  # fmt: skip

    def injection(self, suffix: str, on: date, fields: dict[str, Any], emit: bool) -> dict[str, Any]:
        agent = {"corticosteroid_anaesthetic": "corticosteroid with local anaesthetic",
                 "anaesthetic_only": "local anaesthetic only"}.get(fields["agent"], fields["agent"])  # fmt: skip
        guidance = {"ultrasound": "Ultrasound", "ct": "CT", "fluoroscopy": "Fluoroscopy"}.get(fields["guidance"], "")
        resource = self.resource("Procedure", suffix, {
            "status": "completed", "code": {"text": f"{guidance}-guided injection of the ischiofemoral space"},
            "subject": self.subject, "performedDateTime": self.day(on),
            "bodySite": self.body_site("ischiofemoral space"), "usedCode": [{"text": agent}],
            "reasonReference": [self.ref("Condition", "-condition")],
        }, emit)  # fmt: skip
        self.injections[len(self.injections)] = resource
        return resource

    def surgery(self, suffix: str, on: date, fields: dict[str, Any], emit: bool) -> dict[str, Any]:
        approach = fields["approach"]
        neurolysis = " with sciatic nerve neurolysis" if fields.get("sciatic_neurolysis") else ""
        return self.resource("Procedure", suffix, {
            "status": "completed", "code": {"text": f"{approach.capitalize()} ischiofemoral decompression{neurolysis}"},
            "subject": self.subject, "performedDateTime": self.day(on),
            "bodySite": self.body_site("ischiofemoral space"),
            "reasonReference": [self.ref("Condition", "-condition")],
        }, emit)  # fmt: skip

    def provenance(
        self, row: AnyRow, seq: int, trigger: str, on: date, targets: list[dict[str, str]], emit: bool,
        revises: int | None = None,
    ) -> None:  # fmt: skip
        """The event's Provenance: exported with the event, else held (a correction may refer to it)."""
        operation = "CREATE" if trigger == "open" else "NULLIFY" if trigger == VOID else "UPDATE"
        body: dict[str, Any] = {
            "extension": [
                {"url": HASH_EXTENSION, "valueString": self.chain(row[18])},
                {"url": PREV_HASH_EXTENSION, "valueString": self.chain(row[17])},
            ],
            "target": targets,
            "occurredDateTime": self.day(on),
            "recorded": self.instant(as_instant(row[9])),
            "activity": {**_coded(DATA_OPERATION, operation), "text": trigger},
            "agent": [{
                "type": _coded(PARTICIPANT_TYPE, "enterer", "Enterer"),
                "who": {"display": row[10]},
                **({"role": [{"text": row[11]}]} if row[11] else {}),
            }],
        }  # fmt: skip
        overridden = json_value(row[16])
        reasons = []
        if revises is not None:
            role = "revision" if trigger == CORRECT else "removal"
            body["entity"] = [{"role": role, "what": self.ref("Provenance", f"-event-{revises}")}]
            what = "correction" if trigger == CORRECT else "entered in error"
            reasons.append({"text": f"{what} of event {revises}: {self.text(json_value(row[13]).get('reason'))}"})
        if overridden:
            reasons.append({"text": f"override of {', '.join(overridden)}: {self.text(row[15])}"})
        if reasons:
            body["reason"] = reasons
        self.resource("Provenance", f"-event-{seq}", body, emit)

    # -- the episode as a whole ------------------------------------------------------

    def finish(self) -> dict[str, list[dict[str, Any]]]:
        if not self.in_period:
            return {t: [] for t in TYPES}
        self.episode_of_care()
        self.condition()
        if self.plan_start is not None:
            self.care_plan()
        self.include_referenced()
        return self.out

    def include_referenced(self) -> None:
        """Add every earlier resource that an exported one refers to (and what those refer to)."""
        pending = [r for items in self.out.values() for r in items]
        while pending:
            for reference in references(pending.pop()):
                resource = self.held.pop(reference, None)
                if resource is not None:
                    self.out[resource["resourceType"]].append(resource)
                    pending.append(resource)

    def episode_of_care(self) -> None:
        periods: list[dict[str, Any]] = []
        for i, (state, start) in enumerate(self.history):
            end = self.history[i + 1][1] if i + 1 < len(self.history) else None
            status = episode_status(state)
            if periods and periods[-1]["status"] == status:
                periods[-1]["period"].pop("end", None)
            else:
                periods.append({"status": status, "period": {"start": self.day(start)}})
            if end is not None:
                periods[-1]["period"]["end"] = self.day(end)
        period = {"start": self.day(self.day0)}
        if self.state in ("discharged", "closed"):
            period["end"] = self.day(self.history[-1][1])
        self.out["EpisodeOfCare"].insert(0, self.resource("EpisodeOfCare", "", {
            "status": episode_status(self.state), "statusHistory": periods,
            "type": [{"text": "Ischiofemoral impingement care pathway"}],
            "diagnosis": [{"condition": self.ref("Condition", "-condition")}],
            "patient": self.subject, "period": period,
        }, emit=None))  # fmt: skip

    def condition(self) -> None:
        body: dict[str, Any] = {}
        if self.verification != "refuted":
            clinical = "resolved" if self.resolved_on is not None else "active"
            body["clinicalStatus"] = _coded(CONDITION_CLINICAL, clinical)
        body |= {
            "verificationStatus": _coded(CONDITION_VERIFICATION, self.verification),
            "category": _category(CONDITION_CATEGORY, "encounter-diagnosis"),
            "code": {"text": "Ischiofemoral impingement"},
            "bodySite": self.body_site("ischiofemoral space"),
            "subject": self.subject,
            "recordedDate": self.day(self.day0),
        }
        if self.resolved_on is not None and self.verification != "refuted":
            body["abatementDateTime"] = self.day(self.resolved_on)
        if self.evidence:
            body["evidence"] = [{"detail": [{"reference": f"Observation/{i}"} for i in self.evidence]}]
        self.out["Condition"].append(self.resource("Condition", "-condition", body, emit=None))

    def care_plan(self) -> None:
        assert self.plan_start is not None
        status = {"discharged": "completed", "closed": "revoked"}.get(self.state, "active")
        step = {"active": "in-progress", "completed": "completed", "revoked": "stopped"}[status]
        activities = [{"detail": {"status": step, "code": {"text": c.replace("_", " ")}}} for c in self.components]
        if self.surgery_plan is not None:
            plan = self.surgery_plan
            surgery = f"{plan['approach'].capitalize()} ischiofemoral decompression"
            activities.append({"detail": {
                "status": plan["status"], "code": {"text": surgery},
                "scheduledPeriod": {"start": self.day(plan["planned_on"])},
            }})  # fmt: skip
        self.out["CarePlan"].append(self.resource("CarePlan", "-careplan", {
            "status": status, "intent": "plan", "title": "Ischiofemoral impingement: conservative care, then surgery "
            "if it fails", "subject": self.subject, "period": {"start": self.day(self.plan_start)},
            "addresses": [self.ref("Condition", "-condition")], "activity": activities,
        }, emit=None))  # fmt: skip


def references(value: Any) -> Iterator[str]:
    """Every ``reference`` ("Type/id") anywhere inside a resource."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "reference" and isinstance(inner, str):
                yield inner
            else:
                yield from references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from references(inner)


def folds(
    rows: Iterator[AnyRow], key: bytes | None, site_zone: tzinfo, since: date | None
) -> Iterator[tuple[int, dict[str, list[dict[str, Any]]]]]:
    """Per episode: the number of its events read, and its resources by type."""
    fold: Fold | None = None
    seen = 0
    for row in rows:
        if fold is None or row[0] != fold.episode_id:
            if fold is not None:
                yield seen, fold.finish()
            ref = p.pseudonym(key, row[2]) if key is not None else row[2]
            subject = {"identifier": {"system": PSEUDONYM_SYSTEM if key else PATIENT_REF_SYSTEM, "value": ref}}
            fold = Fold(row[0], subject, row[3], as_date(row[4]), key is not None, site_zone, since, key)
            seen = 0
        fold.add(row)
        seen += 1
    if fold is not None:
        yield seen, fold.finish()


def write(
    target: AtomicDirectory,
    rows: Iterator[AnyRow],
    period: Period,
    *,
    key: bytes | None,
    site_zone: tzinfo,
    progress: Progress | None,
) -> dict[str, int]:
    """Write one NDJSON file per resource type into ``target``; returns the counts."""
    files = {t: target.open(f"{t}.ndjson") for t in TYPES}
    counts = dict.fromkeys(TYPES, 0)
    for seen, resources in folds(rows, key, site_zone, period.since):
        for kind, items in resources.items():
            for resource in items:
                files[kind].write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
            counts[kind] += len(items)
        if progress is not None:
            progress(seen)
    return counts
