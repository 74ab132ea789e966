"""Checking a proposed rule set against the catalogue before it is stored.

A rule set that guards and timers would misread is worse than none, so a proposal is
refused with *every* problem listed: unknown or missing rules, wrong types or units,
values outside the catalogue's plausible range, and values that contradict each other.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pathway.domain.rules import CATALOGUE, RuleSpec

RULE_FIELDS = ("value", "unit", "basis")
BASIS_MAX = 2000


@dataclass(frozen=True)
class RuleEntry:
    """One rule of a rule set as stored and exported: key, typed value, unit, basis."""

    key: str
    value: Any
    unit: str | None
    basis: str

    @property
    def spec(self) -> RuleSpec:
        return CATALOGUE[self.key]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)


def _range(spec: RuleSpec) -> str:
    unit = f" {spec.unit}" if spec.unit else ""
    return f"{spec.lo:g}-{spec.hi:g}{unit}"


def _in_range(spec: RuleSpec, number: float) -> bool:
    return (spec.lo is None or number >= spec.lo) and (spec.hi is None or number <= spec.hi)


def _check_value(spec: RuleSpec, value: Any) -> list[str]:
    """Problems with one value, each a phrase to follow the rule's key."""
    unit = spec.unit or ""
    if spec.type == "bool":
        return [] if isinstance(value, bool) else [f"value must be true or false, not {_fmt(value)}"]
    if spec.type in ("int", "number"):
        whole = spec.type == "int"
        if not (_is_int(value) if whole else _is_number(value)):
            kind = f"a whole number of {unit}" if whole else f"a number ({unit})"
            return [f"value must be {kind}, not {_fmt(value)}"]
        if not _in_range(spec, value):
            return [f"{_fmt(value)} {unit} is outside the plausible range {_range(spec)}".replace("  ", " ")]
        return []
    if not isinstance(value, list) or not value:
        return [f"value must be a non-empty list ({_example(spec)})"]
    problems = []
    if spec.type == "enum_list":
        wrong = [item for item in value if item not in spec.choices]
        if wrong:
            problems.append(f"{', '.join(map(_fmt, wrong))} not among the choices {', '.join(spec.choices)}")
    else:  # int_list
        wrong = [item for item in value if not _is_int(item)]
        if wrong:
            return [f"every item must be a whole number of {unit}, not {', '.join(map(_fmt, wrong))}"]
        outside = [item for item in value if not _in_range(spec, item)]
        if outside:
            problems.append(f"{', '.join(map(str, outside))} outside the plausible range {_range(spec)}")
        if any(b <= a for a, b in zip(value, value[1:], strict=False)):
            problems.append(f"the days must be strictly increasing, not {', '.join(map(str, value))}")
    if len(set(map(repr, value))) != len(value) and spec.type == "enum_list":
        problems.append("an item is listed twice")
    return problems


def _example(spec: RuleSpec) -> str:
    if spec.type == "enum_list":
        return f"e.g. value = [{', '.join(repr(c).replace(chr(39), chr(34)) for c in spec.choices[:2])}]"
    return "e.g. value = [42, 90, 180]"


def _check_unit(spec: RuleSpec, table: Mapping[str, Any]) -> list[str]:
    unit = table.get("unit")
    if spec.unit is None:
        if "unit" in table:
            return [f'has no unit; remove unit = "{unit}"' if isinstance(unit, str) else "has no unit; remove unit"]
        return []
    if "unit" not in table:
        return [f'needs unit = "{spec.unit}", so that a reader knows what the value counts']
    if unit != spec.unit:
        return [
            f'unit is "{unit}" but this rule is in {spec.unit}; give the value in {spec.unit}, unit = "{spec.unit}"'
        ]
    return []


def _check_basis(table: Mapping[str, Any]) -> tuple[str, list[str]]:
    basis = table.get("basis")
    if not isinstance(basis, str) or not basis.strip():
        return "", ["needs a basis: the source, paper or local policy that justifies the value"]
    if len(basis) > BASIS_MAX:
        return "", [f"basis is {len(basis)} characters long; the limit is {BASIS_MAX}"]
    return basis, []


def check_rule(key: str, table: Any) -> tuple[RuleEntry | None, list[str]]:
    """One rule's table (``value``, ``unit``, ``basis``) as an entry, or its problems."""
    spec = CATALOGUE[key]
    if not isinstance(table, Mapping):
        return None, [f"{key} must be a table [{key}] with value, unit and basis, not {key} = {_fmt(table)}"]
    problems = [
        f"unknown field {name!r} (a rule has {', '.join(RULE_FIELDS)})" for name in table if name not in RULE_FIELDS
    ]
    if "value" not in table:
        problems.append("needs a value")
    else:
        problems += _check_value(spec, table["value"])
    problems += _check_unit(spec, table)
    basis, basis_problems = _check_basis(table)
    problems += basis_problems
    if problems:
        return None, [f"{key}: {problem}" for problem in problems]
    return RuleEntry(key, table["value"], spec.unit, basis), []


# Rules that must agree with each other: (keys, check returning a problem or None).
Consistency = tuple[tuple[str, ...], Callable[[Mapping[str, Any]], str | None]]


def _window(v: Mapping[str, Any]) -> str | None:
    opens, closes = v["reassessment_window_open_days"], v["reassessment_window_close_days"]
    if closes > opens:
        return None
    return (
        f"reassessment_window_close_days ({closes} days) must be later than reassessment_window_open_days "
        f"({opens} days): the reassessment window would close before it opens"
    )


def _followup_windows(v: Mapping[str, Any]) -> str | None:
    days, grace = v["postop_followup_days"], v["followup_grace_days"]
    gaps = [b - a for a, b in zip(days, days[1:], strict=False)]
    if grace >= days[0]:
        return (
            f"followup_grace_days ({grace} days) must be shorter than the first post-operative milestone "
            f"(day {days[0]}): its window would open on or before the day of surgery"
        )
    if gaps and 2 * grace >= min(gaps):
        a = next(d for d, gap in zip(days, gaps, strict=False) if gap == min(gaps))
        return (
            f"followup_grace_days ({grace} days either side) makes the follow-up windows of day {a} and "
            f"day {a + min(gaps)} overlap, so one visit would satisfy both; use less than {(min(gaps) + 1) // 2} days"
        )
    return None


CONSISTENCY: tuple[Consistency, ...] = (
    (("reassessment_window_open_days", "reassessment_window_close_days"), _window),
    (("postop_followup_days", "followup_grace_days"), _followup_windows),
)


def check_consistency(values: Mapping[str, Any]) -> list[str]:
    """Problems between rules; checks whose rules are missing or invalid are skipped."""
    found = []
    for keys, check in CONSISTENCY:
        if all(key in values for key in keys):
            problem = check(values)
            if problem:
                found.append(problem)
    return found


def check_rule_set(tables: Mapping[str, Any]) -> tuple[list[RuleEntry], list[str]]:
    """Every rule of the catalogue, in catalogue order, and every problem found."""
    problems = []
    for key in tables:
        if key not in CATALOGUE:
            close = difflib.get_close_matches(key, CATALOGUE, n=1)
            hint = f" (did you mean {close[0]}?)" if close else f" (the rules are: {', '.join(CATALOGUE)})"
            problems.append(f"unknown rule {key!r}{hint}")
    missing = [key for key in CATALOGUE if key not in tables]
    if missing:
        problems.append(
            f"missing rule{'s' if len(missing) > 1 else ''} {', '.join(missing)}: a rule set gives every rule "
            "(start from a complete file: `pathway rules export N`)"
        )
    entries = []
    for key in CATALOGUE:
        if key not in tables:
            continue
        entry, found = check_rule(key, tables[key])
        problems += found
        if entry is not None:
            entries.append(entry)
    problems += check_consistency({e.key: e.value for e in entries})
    return entries, problems
