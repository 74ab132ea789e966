"""The quality report as rows of (section, figure, value): the shape text and CSV share.

JSON and CSV keep the figures' keys; people read labels (``label``). Every share is a
fraction from 0 to 1 in JSON and CSV, and a percentage with one decimal wherever a
person reads it (text, HTML, charts): ``shown`` is the one place that decides.
"""

from __future__ import annotations

import csv
import io
import textwrap
from collections.abc import Iterator
from typing import Any

TITLES = {
    "episodes_opened": "Episodes opened (referral date in the period), by current state",
    "mri_without_radiograph_report": "MRI ordered without a prior radiograph report",
    "days_referral_to_diagnosis": "Days from referral to diagnosis",
    "days_diagnosis_to_first_reassessment": "Days from diagnosis to the first reassessment",
    "first_reassessment_in_window": "First reassessments inside the reassessment window",
    "overdue_flags": "Overdue flags opened (overdue day in the period) and days they stayed open",
    "injections": "Injections: diagnostic response and relief",
    "early_surgical_referrals": "Surgical referrals before the minimum of conservative care",
    "overrides_by_guard": "Guideline overrides, by guard",
    "corrections": "Corrections and voids made in the period, by corrected step and by role",
    "actors_established": "Steps recorded, by how the actor was established",
    "surgical_approach": "Surgical approach (operations in the period)",
    "outcomes": "Pain and mHHS change from the start of conservative care to discharge",
}


TREND_TITLES = {
    "mri_without_radiograph_report": "MRI ordered without a radiograph report",
    "first_reassessment_in_window": "First reassessments inside the window",
    "diagnostic_positive": "Positive diagnostic responses",
    "early_surgical_referrals": "Surgical referrals before the minimum",
    "events_with_override": "Steps taken with an override",
}

# The same, as two short lines heading a column of the text report's trend table.
TREND_HEADS = {
    "mri_without_radiograph_report": ("MRI without", "radiographs"),
    "first_reassessment_in_window": ("reassessed", "in window"),
    "diagnostic_positive": ("diagnostic", "positive"),
    "early_surgical_referrals": ("referred", "early"),
    "events_with_override": ("steps with", "an override"),
}

# Figure keys as a reader says them; any other key is spelt out word by word.
WORDS = {
    "n": "number", "share": "share", "share_inside": "share inside the window", "mcid_reached": "reached the MCID",
    "mcid_share": "share reaching the MCID", "median_change": "median change", "by_current_state": "by current state",
    "by_kind": "by kind of flag", "by_guard": "by guard", "median_days_open": "median days open",
    "still_open": "still open", "diagnostic_positive_share": "share of diagnostic responses positive",
    "relief_share": "share by relief", "before_conservative_min_days": "before the minimum",
    "events_with_override": "steps taken with an override", "endoscopic_share": "endoscopic share",
    "open_share": "open share", "mri_orders": "MRI orders", "by_trigger": "by corrected step", "by_role": "by role",
    "voided": "entered in error",
}
ACRONYMS = {"mri": "MRI", "mhhs": "mHHS", "mcid": "MCID", "ct": "CT", "nsaids": "NSAIDs"}


def words(key: str) -> str:
    """A snake_case key as words (``mri_report`` -> ``MRI report``)."""
    return " ".join(ACRONYMS.get(w, w) for w in str(key).split("_"))


def label(name: str) -> str:
    """A flattened figure name as a reader says it: ``by_kind.mri_report.median_days_open`` ->
    ``by kind of flag: MRI report: median days open``."""
    text = ": ".join(WORDS.get(part, words(part)) for part in name.split("."))
    return text if text.startswith("mHHS") else text[:1].upper() + text[1:]


def is_share(name: str) -> bool:
    return any("share" in part for part in name.split("."))


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
    else:
        yield prefix, value


def rows(report: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """Every figure as (section, figure, value), in the report's order."""
    for section in TITLES:
        for name, value in _flatten("", report[section]):
            yield section, name, value


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def shown(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if is_share(name):
        return percent(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def as_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "figure", "value", "label"))
    period = report["period"]
    writer.writerow(("period", "since", period["since"] or "", "Since"))
    writer.writerow(("period", "until", period["until"] or "", "Until"))
    writer.writerow(("period", "as_of", period["as_of"], "As of"))
    writer.writerow(("rules", "versions", " ".join(map(str, report["rules_versions"])), "Rule-set versions"))
    writer.writerow(("thresholds", "mhhs_mcid_points", report["thresholds"]["mhhs_mcid_points"],
                     "mHHS MCID (points)"))  # fmt: skip
    for section, name, value in rows(report):
        writer.writerow((section, name, "" if value is None else value, f"{TITLES[section]}: {label(name)}"))
    for section, name, value in trend_rows(report):
        writer.writerow((section, name, "" if value is None else value, label(name)))
    return out.getvalue()


def trend_rows(report: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """The trend as (``trend``, ``PERIOD.FIGURE.n|hits|share``, value)."""
    for period in report.get("trend", {}).get("periods", []):
        for figure in TREND_TITLES:
            for part, value in period[figure].items():
                yield "trend", f"{period['period']}.{figure}.{part}", value


def trend_table(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The trend as a table a person reads: one row per period, each figure's share (and n)."""
    columns = [report["trend"]["by"], *TREND_TITLES.values()]
    lines = [[p["period"], *(f"{percent(p[f]['share'])} of {p[f]['n']}" if p[f]["n"] else "-"
                             for f in TREND_TITLES)] for p in report["trend"]["periods"]]  # fmt: skip
    return columns, lines


def as_text(report: dict[str, Any], width: int | None = None, *, aligned: bool = True) -> str:
    """The whole report as plain text: a heading per section, then label and value lines
    (the opening sentences wrapped to ``width``, for a terminal). Not ``aligned`` (a pipe):
    label and value separated by a tab, with no padding."""
    out = []
    for sentence in (period_text(report), threshold_text(report)):
        out += textwrap.wrap(sentence, width, break_on_hyphens=False) if width else [sentence]
    section = None
    labelled = [(sec, label(name), shown(name, value)) for sec, name, value in rows(report)]
    label_width = max((len(text) for _, text, _ in labelled), default=0)
    for sec, text, value in labelled:
        if sec != section:
            out += ["", TITLES[sec]]
            section = sec
        out.append(f"  {text:<{label_width}}  {value}" if aligned else f"{text}\t{value}")
    if report.get("trend", {}).get("periods") and not aligned:
        columns, lines = trend_table(report)
        out += ["", f"Trend by {report['trend']['by']}", "\t".join(columns), *("\t".join(line) for line in lines)]
    elif report.get("trend", {}).get("periods"):
        out += ["", f"Trend by {report['trend']['by']}: share (and how many were counted)"]
        heads = list(TREND_HEADS.values())
        for first, row in (("", [h[0] for h in heads]), (report["trend"]["by"], [h[1] for h in heads])):
            out.append("  " + f"{first:<9}" + "".join(f"{h:<14}" for h in row).rstrip())
        for period in report["trend"]["periods"]:
            cells = [f"{percent(period[f]['share'])} ({period[f]['n']})" if period[f]["n"] else "-" for f in TREND_HEADS]
            out.append("  " + f"{period['period']:<9}" + "".join(f"{c:<14}" for c in cells).rstrip())
    return "\n".join(out) + "\n"


def period_text(report: dict[str, Any]) -> str:
    period = report["period"]
    since, until = period["since"] or "the first record", period["until"] or f"{period['as_of']} (today)"
    versions = ", ".join(f"v{v}" for v in report["rules_versions"]) or "none"
    return f"From {since} to {until}; each event judged by the rules recorded on it ({versions})."


def threshold_text(report: dict[str, Any]) -> str:
    t = report["thresholds"]
    return (
        f"Minimal clinically important difference: pain, {t['pain_mcid']}; "
        f"mHHS, a rise of at least {t['mhhs_mcid_points']:g} points."
    )
