"""The columns of an import file: what each means, and turning a row's cells into a step.

A file has one row per step: ``patient_ref``, ``side``, ``trigger``, ``occurred_on``,
optionally ``episode_key`` (two episodes of one patient and side) and
``override_reason`` (this row's own reason for a deviation), and one column per field,
named as for ``--set``. The opening row (``trigger`` = ``open``) may also give
``referred_on`` and ``has_hip_arthroplasty``. Empty cells are absent fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from pathway.domain.fields import Field, FieldError, NumberField, check_text, parse_date, quoted
from pathway.domain.patients import ALLOWED
from pathway.domain.replay import OPEN, OPEN_FIELDS, Step
from pathway.domain.triggers import TRIGGERS
from pathway.errors import InvalidInput

REQUIRED = ("patient_ref", "side", "trigger", "occurred_on")
EPISODE_KEY = "episode_key"
OVERRIDE_REASON = "override_reason"


def _field_columns() -> dict[str, list[tuple[str, Field]]]:
    """Every field name, with the triggers (and their field specs) that take it, in pathway order.

    ``amend``'s patient_ref and side are the row's identity columns, never a field of a row:
    an episode moves to another patient or side with `pathway advance ID amend`, not by an import.
    """
    columns: dict[str, list[tuple[str, Field]]] = {name: [] for name in OPEN_FIELDS}
    for spec in TRIGGERS.values():
        for f in spec.fields:
            if f.name not in REQUIRED:
                columns.setdefault(f.name, []).append((spec.name, f))
    return columns


FIELD_COLUMNS: dict[str, list[tuple[str, Field]]] = _field_columns()
COLUMNS: tuple[str, ...] = (*REQUIRED, EPISODE_KEY, *FIELD_COLUMNS, OVERRIDE_REASON)
TRIGGER_NAMES: tuple[str, ...] = (OPEN, *TRIGGERS)
KEY_MAX = 64
_DECIMAL_COMMA = re.compile(r"\s*[+-]?[0-9]+,[0-9]+\s*")


def check_header(cells: list[str]) -> list[str]:
    """The column names of a header row (trimmed, lower case), or InvalidInput naming every problem.

    Trailing empty headings (spreadsheets leave them) are dropped; any other heading must
    be a known column, once.
    """
    names = [c.strip().lower() for c in cells]
    while names and not names[-1]:
        names.pop()
    problems = []
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        problems.append(f"it lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    unknown = [n for n in names if n and n not in COLUMNS]
    if unknown:
        problems.append(
            f"{', '.join(map(quoted, unknown[:5]))} {'is not a column' if len(unknown) == 1 else 'are not columns'}"
        )
    if "" in names:
        problems.append(f"column {names.index('') + 1} has no heading")
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if twice:
        problems.append(f"{', '.join(twice)} appear{'s' if len(twice) == 1 else ''} twice")
    if problems:
        raise InvalidInput(
            f"The header row is not an import header: {'; '.join(problems)}. The columns are "
            f"{', '.join(REQUIRED)}, optionally {EPISODE_KEY} and {OVERRIDE_REASON}, and one per field "
            "(`pathway import template` writes them)."
        )
    return names


@dataclass(frozen=True)
class Identity:
    """Which episode a row belongs to: patient, side and (when given) the file's episode key."""

    patient_ref: str
    side: str
    episode_key: str


def row_cells(names: list[str], values: list[str], number: int) -> dict[str, str]:
    """The non-empty cells of a row by column name; a value beyond the named columns is refused."""
    extra = len(values) - len(names)
    if extra > 0 and any(v.strip() for v in values[len(names) :]):
        raise InvalidInput(f"row {number} has more cells than the header has columns.")
    return {name: value for name, value in zip(names, values, strict=False) if value.strip()}


def identity(cells: Mapping[str, str], check_patient_ref: Callable[[str], str]) -> Identity:
    """The row's episode identity, or InvalidInput (the reference itself is never quoted)."""
    missing = [c for c in ("patient_ref", "side", "trigger") if c not in cells]
    if missing:
        raise InvalidInput(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} empty.")
    try:
        ref = check_patient_ref(cells["patient_ref"])
    except InvalidInput:
        raise InvalidInput(f"patient_ref is not a valid patient reference (1-64 {ALLOWED}).") from None
    side = cells["side"].strip().lower()
    if side not in ("left", "right"):
        raise InvalidInput(f"side must be left or right, not {quoted(cells['side'])}.")
    key = cells.get(EPISODE_KEY, "")
    if key:
        try:
            key = check_text(key, EPISODE_KEY, KEY_MAX)
        except FieldError as exc:
            raise InvalidInput(str(exc)) from None
    return Identity(ref, side, key)


def event_date(cells: Mapping[str, str]) -> tuple[date | None, str | None]:
    """The row's date (for an opening, its referral date if occurred_on is empty) and any problem with it."""
    text = cells.get("occurred_on")
    if text is None and cells.get("trigger", "").strip().lower() == OPEN:
        text = cells.get("referred_on")
    if text is None:
        return None, "occurred_on is empty; give the date of the step as YYYY-MM-DD."
    try:
        return parse_date(text, "occurred_on"), None
    except FieldError as exc:
        return None, str(exc)


def step(number: int, cells: Mapping[str, str], *, decimal_comma: bool = False) -> Step:
    """A row as a step to decide. With ``decimal_comma`` (a ';' CSV) numbers may be written 11,5."""
    trigger = cells["trigger"].strip().lower() if cells["trigger"].isascii() else cells["trigger"]
    fixed = set(REQUIRED) | {EPISODE_KEY, OVERRIDE_REASON}
    fields = {name: value for name, value in cells.items() if name not in fixed}
    if decimal_comma and trigger in TRIGGERS:
        spec = TRIGGERS[trigger]
        for name, value in fields.items():
            if isinstance(spec.field(name), NumberField) and _DECIMAL_COMMA.fullmatch(value):
                fields[name] = value.replace(",", ".")
    on, problem = event_date(cells)
    if trigger == OPEN and "occurred_on" not in cells:
        on, problem = None, None  # dated by referred_on (replay.opening)
    return Step(number, trigger, on, fields, cells.get(OVERRIDE_REASON), problem)
