"""Clinical guards: pure functions from an episode's facts and pinned rules to verdicts.

Every guard always returns a verdict with the numbers behind it, passed or not, so that
a refusal can name *every* failing guard and the audit trail records each verdict.
When ``fields`` is None (the "what is next?" question, asked before any value is
known) guards that depend on a field assume the usual first-line choice and say so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pathway.domain.history import Facts, days_between
from pathway.domain.rules import RuleSet

USUAL_AGENT = "corticosteroid_anaesthetic"


@dataclass(frozen=True)
class Verdict:
    guard: str
    passed: bool
    message: str
    rules: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"guard": self.guard, "passed": self.passed, "message": self.message, "rules": list(self.rules)}


@dataclass(frozen=True)
class GuardContext:
    facts: Facts
    rules: RuleSet
    fields: Mapping[str, Any] | None
    occurred_on: date

    def field(self, name: str, assumed: Any = None) -> Any:
        return assumed if self.fields is None else self.fields.get(name, assumed)


Guard = Callable[[GuardContext], Verdict]


def _ago(days: int) -> str:
    return "today" if days == 0 else ("1 day ago" if days == 1 else f"{days} days ago")


def radiographs_first(ctx: GuardContext) -> Verdict:
    """A radiograph report is recorded: MRI without contrast follows plain radiographs."""
    result = ctx.facts.radiograph_result
    if result:
        return Verdict("radiographs_first", True, f"radiographs are reported ({result}).")
    return Verdict(
        "radiographs_first",
        False,
        "no radiograph report is recorded; MRI comes after negative, equivocal or non-diagnostic radiographs.",
    )


def _compare(mm: float, limit: float) -> str:
    return f"{mm:g} mm ({'≤' if mm <= limit else '>'} {limit:g})"


def mri_supports_ifi(ctx: GuardContext) -> Verdict:
    """MRI shows a narrowed space (IFS or QFS at its limit or below) and a quadratus femoris sign."""
    keys = ("mri_ifs_max_mm", "mri_qfs_max_mm")
    mri = ctx.facts.mri
    if mri is None:
        return Verdict(
            "mri_supports_ifi",
            False,
            "no MRI report is recorded; confirming the diagnosis without MRI "
            "(e.g. MRI contraindicated) needs an override.",
            keys,
        )
    ifs_max, qfs_max = ctx.rules["mri_ifs_max_mm"], ctx.rules["mri_qfs_max_mm"]
    ifs, qfs = mri["ifs_mm"], mri["qfs_mm"]
    narrow = ifs <= ifs_max or qfs <= qfs_max
    muscle = [name for name, key in (("oedema", "qf_edema"), ("fatty replacement", "qf_fatty_replacement")) if mri[key]]
    spaces = f"IFS {_compare(ifs, ifs_max)}, QFS {_compare(qfs, qfs_max)}"
    signal = (
        f"quadratus femoris {' and '.join(muscle)}" if muscle else "no quadratus femoris oedema or fatty replacement"
    )
    if narrow and muscle:
        return Verdict("mri_supports_ifi", True, f"MRI supports IFI: {spaces}; {signal}.", keys)
    missing = []
    if not narrow:
        missing.append(f"neither space is narrowed ({spaces})")
    if not muscle:
        missing.append(signal)
    return Verdict("mri_supports_ifi", False, f"MRI does not support IFI: {'; '.join(missing)}.", keys)


def injection_guidance_allowed(ctx: GuardContext) -> Verdict:
    """The injection's image guidance is one the rule set allows."""
    allowed = list(ctx.rules["injection_guidance_allowed"])
    keys = ("injection_guidance_allowed",)
    guidance = ctx.field("guidance")
    if guidance is None:
        return Verdict("injection_guidance_allowed", True, f"guidance must be {' or '.join(allowed)}.", keys)
    if guidance in allowed:
        return Verdict("injection_guidance_allowed", True, f"{guidance} guidance is allowed.", keys)
    return Verdict(
        "injection_guidance_allowed",
        False,
        f"{guidance} guidance is not allowed; the rules allow {' or '.join(allowed)}.",
        keys,
    )


RELIEF_WORDS = {"none": "no relief", "temporary": "temporary relief", "sustained": "sustained relief"}


def repeat_injection_after_temporary_relief(ctx: GuardContext) -> Verdict:
    """A repeat injection is second line: only after the latest one gave temporary relief."""
    facts = ctx.facts
    if not facts.injections:
        return Verdict("repeat_injection_after_temporary_relief", True, "this is the first injection.")
    relief = facts.latest_relief
    last = facts.injections[-1].on
    if relief == "temporary":
        return Verdict(
            "repeat_injection_after_temporary_relief",
            True,
            f"the injection of {last} gave temporary relief, so a repeat is second line.",
        )
    return Verdict(
        "repeat_injection_after_temporary_relief",
        False,
        f"the latest injection ({last}) gave {RELIEF_WORDS.get(relief or '', 'no recorded relief')}; "
        "a repeat injection is second line only after temporary relief.",
    )


def _corticosteroids(ctx: GuardContext) -> tuple[bool, list[date]]:
    agent = ctx.field("agent", USUAL_AGENT)
    return agent == USUAL_AGENT, [i.on for i in ctx.facts.injections if i.corticosteroid]


def injection_min_interval_days(ctx: GuardContext) -> Verdict:
    """A corticosteroid injection comes at least the minimum interval after the previous one."""
    keys = ("injection_min_interval_days",)
    steroid, dates = _corticosteroids(ctx)
    if not steroid:
        return Verdict(
            "injection_min_interval_days", True, "an anaesthetic-only injection has no minimum interval.", keys
        )
    if not dates:
        return Verdict("injection_min_interval_days", True, "no earlier corticosteroid injection.", keys)
    minimum = ctx.rules["injection_min_interval_days"]
    last = max(dates)
    days = days_between(last, ctx.occurred_on)
    if days >= minimum:
        return Verdict(
            "injection_min_interval_days",
            True,
            f"the last corticosteroid injection was {last}, {_ago(days)} (at least {minimum} needed).",
            keys,
        )
    return Verdict(
        "injection_min_interval_days",
        False,
        f"the last corticosteroid injection was {last}, {_ago(days)}; another needs at least {minimum} days "
        f"(from {last + timedelta(days=minimum)}).",
        keys,
    )


def injection_max_per_365_days(ctx: GuardContext) -> Verdict:
    """Fewer corticosteroid injections than the yearly maximum in the 364 days before this one."""
    keys = ("injection_max_per_365_days",)
    steroid, dates = _corticosteroids(ctx)
    if not steroid:
        return Verdict(
            "injection_max_per_365_days", True, "an anaesthetic-only injection does not count towards the limit.", keys
        )
    limit = ctx.rules["injection_max_per_365_days"]
    since = ctx.occurred_on - timedelta(days=364)
    recent = sorted(d for d in dates if since <= d <= ctx.occurred_on)
    if len(recent) < limit:
        return Verdict(
            "injection_max_per_365_days",
            True,
            f"{len(recent)} corticosteroid injection(s) since {since} (fewer than {limit} allowed).",
            keys,
        )
    frees = recent[len(recent) - limit] + timedelta(days=365)
    return Verdict(
        "injection_max_per_365_days",
        False,
        f"{len(recent)} corticosteroid injections since {since} already reach the limit of {limit} in 365 days "
        f"(the next is possible from {frees}).",
        keys,
    )


def reassessment_window_open_days(ctx: GuardContext) -> Verdict:
    """The reassessment window has opened, counted from the reassessment anchor."""
    keys = ("reassessment_window_open_days",)
    facts = ctx.facts
    anchor = facts.reassessment_anchor
    if anchor is None:  # unreachable from conservative_care, kept for safety
        return Verdict("reassessment_window_open_days", False, "conservative care has not started.", keys)
    opens = ctx.rules["reassessment_window_open_days"]
    days = days_between(anchor, ctx.occurred_on)
    what = f"{facts.reassessment_anchor_kind} on {anchor}, {_ago(days)}"
    if days >= opens:
        return Verdict("reassessment_window_open_days", True, f"{what} (the window opens at {opens} days).", keys)
    return Verdict(
        "reassessment_window_open_days",
        False,
        f"{what}; reassessment opens at {opens} days (from {anchor + timedelta(days=opens)}).",
        keys,
    )


def conservative_min_days(ctx: GuardContext) -> Verdict:
    """Conservative care has lasted at least the minimum before surgical referral."""
    keys = ("conservative_min_days",)
    started = ctx.facts.conservative_started_on
    minimum = ctx.rules["conservative_min_days"]
    if started is None:
        return Verdict("conservative_min_days", False, "conservative care has not started.", keys)
    days = days_between(started, ctx.occurred_on)
    if days >= minimum:
        return Verdict(
            "conservative_min_days",
            True,
            f"conservative care began {started}, {_ago(days)} (at least {minimum} needed).",
            keys,
        )
    return Verdict(
        "conservative_min_days",
        False,
        f"conservative care began {started}, {_ago(days)}; surgery needs at least {minimum} days "
        f"(from {started + timedelta(days=minimum)}).",
        keys,
    )


def latest_reassessment_persistent(ctx: GuardContext) -> Verdict:
    """The latest reassessment found persistent symptoms: surgery is for failed conservative care."""
    latest = ctx.facts.latest_reassessment
    if latest is None:
        return Verdict(
            "latest_reassessment_persistent", False, "no reassessment is recorded; surgery needs a persistent one."
        )
    on, outcome = latest
    if outcome == "persistent":
        return Verdict(
            "latest_reassessment_persistent", True, f"the latest reassessment ({on}) found persistent symptoms."
        )
    return Verdict(
        "latest_reassessment_persistent",
        False,
        f"the latest reassessment ({on}) found the symptoms {outcome}, not persistent.",
    )


def surgery_requires_injection(ctx: GuardContext) -> Verdict:
    """When the rules ask for it, at least one injection was given before surgical referral."""
    keys = ("surgery_requires_injection",)
    count = len(ctx.facts.injections)
    if not ctx.rules["surgery_requires_injection"]:
        return Verdict(
            "surgery_requires_injection", True, "the rules do not require an injection before surgery.", keys
        )
    if count:
        return Verdict("surgery_requires_injection", True, f"{count} injection(s) given.", keys)
    return Verdict(
        "surgery_requires_injection",
        False,
        "no image-guided injection has been given; surgery needs at least one.",
        keys,
    )


def surgery_requires_positive_diagnostic_injection(ctx: GuardContext) -> Verdict:
    """When the rules ask for it, a diagnostic injection relieved pain by at least the threshold."""
    keys = ("surgery_requires_positive_diagnostic_injection", "diagnostic_relief_min_pct")
    name = "surgery_requires_positive_diagnostic_injection"
    if not ctx.rules[name]:
        return Verdict(name, True, "the rules do not require a positive diagnostic injection.", keys)
    threshold = ctx.rules["diagnostic_relief_min_pct"]
    pcts = [r.pain_reduction_pct for r in ctx.facts.responses if r.pain_reduction_pct is not None]
    best = max(pcts, default=None)
    if best is not None and best >= threshold:
        return Verdict(
            name, True, f"a diagnostic injection reduced pain by {best:g}% (at least {threshold:g}% needed).", keys
        )
    if best is None:
        return Verdict(
            name,
            False,
            f"no diagnostic injection response is recorded; surgery needs a pain reduction of at least {threshold:g}%.",
            keys,
        )
    return Verdict(
        name,
        False,
        f"the best diagnostic response was a {best:g}% pain reduction; a positive one needs at least {threshold:g}%.",
        keys,
    )


def open_includes_neurolysis(ctx: GuardContext) -> Verdict:
    """An open decompression includes sciatic nerve neurolysis."""
    approach = ctx.field("approach")
    if approach is None:
        return Verdict("open_includes_neurolysis", True, "an open decompression must include sciatic nerve neurolysis.")
    if approach != "open":
        return Verdict("open_includes_neurolysis", True, f"{approach} approach: no neurolysis is required.")
    if ctx.field("sciatic_neurolysis"):
        return Verdict("open_includes_neurolysis", True, "the open decompression included sciatic nerve neurolysis.")
    return Verdict(
        "open_includes_neurolysis",
        False,
        "an open decompression (posterior approach) includes sciatic nerve neurolysis; none is recorded.",
    )


def not_a_duplicate(ctx: GuardContext, trigger: str) -> Verdict:
    """A likely double entry: an effective event of the same trigger, date and fields.

    Checked for every trigger (it is not drawn on the pathway's edges), and recorded on
    an event only when it fails, i.e. when a clinician overrode it.
    """
    for event in reversed(ctx.facts.events):
        if event.trigger == trigger and event.occurred_on == ctx.occurred_on and dict(event.fields) == ctx.fields:
            return Verdict(
                "not_a_duplicate",
                False,
                f"event {event.seq} already records {trigger} on {event.occurred_on} with the same values; this "
                f"looks like a double entry (correct or void event {event.seq} if it is the wrong one).",
            )
    return Verdict("not_a_duplicate", True, "no effective event records the same values on that date.")
