"""The quality report as rows of (section, figure, value): the shape text and CSV share."""

from __future__ import annotations

import csv
import io
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
    "early_surgical_referrals": "Surgical referrals before conservative_min_days",
    "overrides_by_guard": "Guideline overrides, by guard",
    "surgical_approach": "Surgical approach (operations in the period)",
    "outcomes": "Pain and mHHS change from the start of conservative care to discharge",
}


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


def shown(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if name.endswith("share") or ".share" in name or name.startswith("relief_share"):
        return f"{value * 100:.1f} %"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def as_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "figure", "value"))
    period = report["period"]
    writer.writerow(("period", "since", period["since"] or ""))
    writer.writerow(("period", "until", period["until"] or ""))
    writer.writerow(("period", "as_of", period["as_of"]))
    writer.writerow(("rules", "versions", " ".join(map(str, report["rules_versions"]))))
    writer.writerow(("thresholds", "mhhs_mcid_points", report["thresholds"]["mhhs_mcid_points"]))
    for section, name, value in rows(report):
        writer.writerow((section, name, "" if value is None else value))
    return out.getvalue()


def period_text(report: dict[str, Any]) -> str:
    period = report["period"]
    since, until = period["since"] or "the first record", period["until"] or f"{period['as_of']} (today)"
    versions = ", ".join(f"v{v}" for v in report["rules_versions"]) or "none"
    return f"From {since} to {until}; rules: each episode's pinned set ({versions})."


def threshold_text(report: dict[str, Any]) -> str:
    t = report["thresholds"]
    return (
        f"Minimal clinically important difference: pain, {t['pain_mcid']}; "
        f"mHHS, a rise of at least {t['mhhs_mcid_points']:g} points."
    )
