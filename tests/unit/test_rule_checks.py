"""Rule files: every validation error, all listed at once, and the exact round trip."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from pathway.domain.rule_checks import RuleEntry, check_rule_set
from pathway.domain.rule_file import format_rule_file, parse_rule_file
from pathway.domain.rules import CATALOGUE
from pathway.errors import InvalidInput
from tests.pathway_spec import DEFAULT_RULES

EXAMPLE = Path(__file__).parents[2] / "examples" / "rules-v2.toml"
UNITS = {"mri_ifs_max_mm": "mm", "mri_qfs_max_mm": "mm", "diagnostic_relief_min_pct": "%"}


def _unit(key: str) -> str | None:
    if key == "injection_max_per_365_days":
        return "injections"
    return "days" if key.endswith("_days") else UNITS.get(key)


def valid_tables() -> dict[str, dict[str, Any]]:
    """PATHWAY.md's defaults as a rule file's tables."""
    tables = {}
    for key, value in DEFAULT_RULES.items():
        table: dict[str, Any] = {"value": copy.deepcopy(value)}
        unit = "days" if key == "postop_followup_days" else _unit(key)
        if unit:
            table["unit"] = unit
        table["basis"] = "PATHWAY.md default."
        tables[key] = table
    return tables


def problems_of(tables: dict[str, Any]) -> list[str]:
    return check_rule_set(tables)[1]


def with_change(key: str, **fields: Any) -> dict[str, Any]:
    tables = valid_tables()
    for name, value in fields.items():
        if value is None:
            tables[key].pop(name, None)
        else:
            tables[key][name] = value
    return tables


def test_the_defaults_are_a_valid_rule_set_in_catalogue_order() -> None:
    entries, problems = check_rule_set(valid_tables())
    assert problems == []
    assert [e.key for e in entries] == list(CATALOGUE)
    assert {e.key: e.value for e in entries} == DEFAULT_RULES


@pytest.mark.parametrize(
    ("key", "fields", "expected"),
    [
        (
            "conservative_min_days",
            {"value": 90.5},
            "conservative_min_days: value must be a whole number of days, not 90.5",
        ),
        ("conservative_min_days", {"value": "90"}, "value must be a whole number of days, not '90'"),
        ("conservative_min_days", {"value": True}, "value must be a whole number of days, not true"),
        ("conservative_min_days", {"value": None}, "conservative_min_days: needs a value"),
        ("conservative_min_days", {"value": 800}, "800 days is outside the plausible range 0-730 days"),
        ("reassessment_window_open_days", {"value": 0}, "0 days is outside the plausible range 1-730 days"),
        ("mri_ifs_max_mm", {"value": 60}, "mri_ifs_max_mm: 60 mm is outside the plausible range 1-50 mm"),
        ("mri_ifs_max_mm", {"value": 0.5}, "0.5 mm is outside the plausible range 1-50 mm"),
        ("mri_qfs_max_mm", {"value": float("nan")}, "mri_qfs_max_mm: value must be a number (mm), not nan"),
        ("mri_qfs_max_mm", {"value": float("inf")}, "value must be a number (mm), not inf"),
        ("diagnostic_relief_min_pct", {"value": 120}, "120 % is outside the plausible range 1-100 %"),
        ("injection_max_per_365_days", {"value": 20}, "20 injections is outside the plausible range 1-12 injections"),
        ("surgery_requires_injection", {"value": "yes"}, "surgery_requires_injection: value must be true or false"),
        ("surgery_requires_injection", {"value": 1}, "value must be true or false, not 1"),
        (
            "injection_guidance_allowed",
            {"value": "ultrasound"},
            "injection_guidance_allowed: value must be a non-empty",
        ),
        ("injection_guidance_allowed", {"value": []}, "value must be a non-empty list"),
        ("injection_guidance_allowed", {"value": ["ultrasound", "mri"]}, "'mri' not among the choices"),
        ("injection_guidance_allowed", {"value": ["ct", "ct"]}, "an item is listed twice"),
        ("postop_followup_days", {"value": [42, 30, 180]}, "the days must be strictly increasing, not 42, 30, 180"),
        ("postop_followup_days", {"value": [42, 42]}, "the days must be strictly increasing"),
        ("postop_followup_days", {"value": [42, 2000]}, "2000 outside the plausible range 1-1095 days"),
        ("postop_followup_days", {"value": [42, 90.5]}, "every item must be a whole number of days, not 90.5"),
        ("postop_followup_days", {"value": 42}, "postop_followup_days: value must be a non-empty list"),
        ("injection_min_interval_days", {"unit": "weeks"}, 'unit is "weeks" but this rule is in days'),
        ("mri_ifs_max_mm", {"unit": "cm"}, 'mri_ifs_max_mm: unit is "cm" but this rule is in mm'),
        ("conservative_min_days", {"unit": None}, 'conservative_min_days: needs unit = "days"'),
        (
            "surgery_requires_injection",
            {"unit": "days"},
            'surgery_requires_injection: has no unit; remove unit = "days"',
        ),
        ("conservative_min_days", {"basis": None}, "conservative_min_days: needs a basis"),
        ("conservative_min_days", {"basis": "   "}, "conservative_min_days: needs a basis"),
        ("conservative_min_days", {"basis": "x" * 2001}, "basis is 2001 characters long; the limit is 2000"),
        ("conservative_min_days", {"vlaue": 3}, "conservative_min_days: unknown field 'vlaue'"),
    ],
)
def test_each_invalid_value_is_named(key: str, fields: dict[str, Any], expected: str) -> None:
    problems = problems_of(with_change(key, **fields))
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_unknown_and_missing_rules_and_a_rule_that_is_not_a_table() -> None:
    tables = valid_tables()
    tables["conservative_min_day"] = tables.pop("conservative_min_days")
    tables.pop("followup_grace_days")
    tables["mri_report_overdue_days"] = 28
    tables["colour"] = {"value": "blue"}
    problems = problems_of(tables)
    assert "unknown rule 'conservative_min_day' (did you mean conservative_min_days?)" in problems
    assert any(p.startswith("unknown rule 'colour' (the rules are: conservative_min_days,") for p in problems)
    assert any(p.startswith("missing rules conservative_min_days, followup_grace_days:") for p in problems)
    assert any(p.startswith("mri_report_overdue_days must be a table [mri_report_overdue_days]") for p in problems)
    assert len(problems) == 4


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"reassessment_window_open_days": 120, "reassessment_window_close_days": 100},
            "reassessment_window_close_days (100 days) must be later than reassessment_window_open_days (120 days)",
        ),
        (
            {"reassessment_window_open_days": 90, "reassessment_window_close_days": 90},
            "the reassessment window would close before it opens",
        ),
        ({"followup_grace_days": 30}, "makes the follow-up windows of day 42 and day 90 overlap"),
        (
            {"followup_grace_days": 50, "postop_followup_days": [42, 200, 400]},
            "followup_grace_days (50 days) must be shorter than the first post-operative milestone (day 42)",
        ),
    ],
)
def test_inconsistent_values_are_refused(changes: dict[str, Any], expected: str) -> None:
    tables = valid_tables()
    for key, value in changes.items():
        tables[key]["value"] = value
    problems = problems_of(tables)
    assert len(problems) == 1 and expected in problems[0], problems


def test_consistency_is_not_judged_on_a_value_that_is_itself_invalid() -> None:
    problems = problems_of(with_change("reassessment_window_close_days", value=60, unit="weeks"))
    assert problems == ['reassessment_window_close_days: unit is "weeks" but this rule is in days; give the value '
                        'in days, unit = "days"']  # fmt: skip


def test_every_problem_of_a_file_is_listed_at_once() -> None:
    tables = valid_tables()
    tables["conservative_min_days"]["value"] = 1000
    tables["mri_ifs_max_mm"]["unit"] = "cm"
    tables["injection_guidance_allowed"]["value"] = ["mri"]
    tables["reassessment_window_close_days"]["value"] = 30
    tables["surgery_requires_injection"].pop("basis")
    with pytest.raises(InvalidInput) as caught:
        parse_rule_file(tomli_w.dumps(tables), "site.toml")
    assert "site.toml is not a valid rule set (5 problems); nothing was saved" in caught.value.message
    assert [d.split(":")[0].split(" (")[0] for d in caught.value.details] == [
        "conservative_min_days",
        "mri_ifs_max_mm",
        "injection_guidance_allowed",
        "surgery_requires_injection",
        "reassessment_window_close_days",  # rules that disagree come after the rules themselves
    ]


def test_toml_syntax_errors_say_where() -> None:
    with pytest.raises(InvalidInput, match=r"site.toml is not valid TOML \(.*line 2.*\); nothing was saved"):
        parse_rule_file("[conservative_min_days]\nvalue = = 90\n", "site.toml")


def test_format_then_parse_gives_the_same_entries_and_bytes() -> None:
    entries = check_rule_set(valid_tables())[0]
    text = format_rule_file(entries)
    again = parse_rule_file(text, "export.toml")
    assert again == entries
    assert format_rule_file(again) == text
    assert tomllib.loads(text)["postop_followup_days"] == {"value": [42, 90, 180, 365], "unit": "days",
                                                           "basis": "PATHWAY.md default."}  # fmt: skip
    assert "unit" not in tomllib.loads(text)["surgery_requires_injection"]


def test_numbers_keep_their_written_form_through_the_round_trip() -> None:
    tables = valid_tables()
    tables["mri_ifs_max_mm"]["value"] = 13.5
    tables["mri_qfs_max_mm"]["value"] = 10
    entries = parse_rule_file(format_rule_file(check_rule_set(tables)[0]), "x.toml")
    values = {e.key: e.value for e in entries}
    assert values["mri_ifs_max_mm"] == 13.5 and isinstance(values["mri_qfs_max_mm"], int)


def test_the_example_rule_file_is_valid_and_differs_from_the_defaults_as_documented() -> None:
    entries = parse_rule_file(EXAMPLE.read_text(encoding="utf-8"), EXAMPLE.name)
    values = {e.key: e.value for e in entries}
    changed = {k for k in DEFAULT_RULES if values[k] != DEFAULT_RULES[k]}
    assert changed == {"injection_min_interval_days", "injection_guidance_allowed"}
    assert values["injection_min_interval_days"] == 84 and values["injection_guidance_allowed"] == ["ultrasound", "ct"]
    assert all(isinstance(e, RuleEntry) and e.basis for e in entries)
