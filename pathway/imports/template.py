"""The import template: every column, one example episode, and (in xlsx) drop-down lists.

The example is a real episode that passes every default rule, dated back from today, so
that a coordinator can import the template itself with --dry-run and see what an import
reports. Choices come from the trigger table, so the template never disagrees with it.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any, BinaryIO

from pathway.domain.fields import BoolField, DateField, EnumField, EnumListField, Field, IntField, NumberField
from pathway.domain.replay import OPEN
from pathway.imports.columns import COLUMNS, EPISODE_KEY, FIELD_COLUMNS, OVERRIDE_REASON, TRIGGER_NAMES

EXAMPLE_PATIENT = "EXAMPLE-1"
# (days after the referral, trigger, fields): work-up, diagnosis, conservative care, an injection.
_EXAMPLE: tuple[tuple[int, str, dict[str, Any]], ...] = (
    (0, OPEN, {"referred_on": 0, "has_hip_arthroplasty": False}),
    (1, "order_radiographs", {}),
    (4, "record_radiographs", {"result": "negative"}),
    (5, "order_mri", {}),
    (19, "record_mri", {"ifs_mm": 11.5, "qfs_mm": 8, "qf_edema": True, "qf_fatty_replacement": False}),
    (21, "confirm_diagnosis", {}),
    (28, "start_conservative", {"components": "activity_modification,physical_therapy", "pain": 7, "mhhs": 55}),
    (42, "inject", {"guidance": "ultrasound", "agent": "corticosteroid_anaesthetic"}),
    (42, "record_injection_response", {"pain_before": 7, "pain_after": 2, "relief": "temporary"}),
    (70, "record_followup", {"pain": 5, "note": "walking further"}),
)
_SPAN = 90  # the example ends this many days after its referral, two weeks before today


def example_rows(today: date) -> list[dict[str, Any]]:
    """The example episode as rows of typed values (dates as dates) by column."""
    referred = today - timedelta(days=_SPAN + 14)
    rows = []
    for days, trigger, fields in _EXAMPLE:
        row: dict[str, Any] = {"patient_ref": EXAMPLE_PATIENT, "side": "left", "trigger": trigger,
                               "occurred_on": referred + timedelta(days=days)}  # fmt: skip
        for name, value in fields.items():
            row[name] = referred + timedelta(days=value) if name == "referred_on" else value
        rows.append(row)
    return rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, date) else str(value)


def write_csv(out: BinaryIO, today: date) -> None:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    for row in example_rows(today):
        writer.writerow([_text(row.get(c)) for c in COLUMNS])
    text.flush()
    text.detach()


def describe(name: str) -> str:
    """What goes in a column, for the workbook's notes sheet."""
    fixed = {
        "patient_ref": "the site's patient identifier (MRN): 1-64 ASCII letters, digits and - _ . / : (compared case-insensitively)",
        "side": "left | right",
        "trigger": "open for an episode's first row, else the step (see `pathway next`)",
        "occurred_on": "the date of the step, YYYY-MM-DD (a date cell); for open, the referral date",
        EPISODE_KEY: "optional: any short label telling apart two episodes of one patient and side",
        OVERRIDE_REASON: "optional: why this row's step deviates from the rules (clinicians only)",
    }
    if name in fixed:
        return fixed[name]
    takers = FIELD_COLUMNS[name]
    triggers = ", ".join(t for t, _ in takers) or OPEN
    spec = takers[0][1] if takers else None
    kind = spec.describe() if spec is not None else ("date YYYY-MM-DD" if name == "referred_on" else "true | false")
    return f"{kind}; for {triggers}"


def _validation(name: str, field: Field | None, lists: dict[str, str]) -> Any:
    from openpyxl.worksheet.datavalidation import DataValidation

    def listed(values: tuple[str, ...]) -> DataValidation:
        return DataValidation(type="list", formula1=lists[name], allow_blank=True, showErrorMessage=True,
                              errorTitle=name, error=f"Choose one of: {', '.join(values)}")  # fmt: skip

    if name == "side":
        return listed(("left", "right"))
    if name == "trigger":
        return listed(TRIGGER_NAMES)
    if isinstance(field, EnumField):
        return listed(field.choices)
    if isinstance(field, BoolField) or name == "has_hip_arthroplasty":
        return listed(("true", "false"))
    if isinstance(field, IntField):
        return DataValidation(type="whole", operator="between", formula1=str(field.lo), formula2=str(field.hi),
                              allow_blank=True, showErrorMessage=True,
                              error=f"A whole number {field.lo}-{field.hi}")  # fmt: skip
    if isinstance(field, NumberField):
        return DataValidation(type="decimal", operator="between", formula1=f"{field.lo:g}", formula2=f"{field.hi:g}",
                              allow_blank=True, showErrorMessage=True, error=f"{field.describe()}")  # fmt: skip
    return None


def _choices(name: str, field: Field | None) -> tuple[str, ...] | None:
    if name == "side":
        return ("left", "right")
    if name == "trigger":
        return TRIGGER_NAMES
    if isinstance(field, EnumField):
        return field.choices
    if isinstance(field, BoolField) or name == "has_hip_arthroplasty":
        return ("true", "false")
    return None


def _column_field(name: str) -> Field | None:
    """The field spec behind a column, when every trigger that takes it agrees on its kind (else None)."""
    takers = [f for _, f in FIELD_COLUMNS.get(name, [])]
    if not takers or any(type(f) is not type(takers[0]) for f in takers):
        return None
    if isinstance(takers[0], EnumField) and any(f.choices != takers[0].choices for f in takers):  # type: ignore[attr-defined]
        return None
    return takers[0]


def write_xlsx(out: BinaryIO, today: date, rows: int = 5000) -> None:
    """A workbook: the "import" sheet (header, example, a drop-down on every choice column for
    ``rows`` rows), a "columns" sheet saying what goes where, and the lists behind the drop-downs."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "import"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in example_rows(today):
        sheet.append([row.get(c) for c in COLUMNS])
    lists = book.create_sheet("lists")
    notes = book.create_sheet("columns")
    notes.append(["column", "what goes in it"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    formulas: dict[str, str] = {}
    list_column = 0
    for index, name in enumerate(COLUMNS, 1):
        letter = get_column_letter(index)
        field = _column_field(name)
        notes.append([name, describe(name)])
        sheet.column_dimensions[letter].width = max(12, len(name) + 2)
        if isinstance(field, DateField) or name in ("occurred_on", "referred_on"):
            for cell in sheet[letter][1:]:
                cell.number_format = "yyyy-mm-dd"
        choices = _choices(name, field)
        if choices is not None:
            list_column += 1
            list_letter = get_column_letter(list_column)
            lists.cell(row=1, column=list_column, value=name)
            for i, choice in enumerate(choices, 2):
                lists.cell(row=i, column=list_column, value=choice)
            formulas[name] = f"lists!${list_letter}$2:${list_letter}${len(choices) + 1}"
        validation = _validation(name, field, formulas) if (choices is not None or field is not None) else None
        if isinstance(field, (EnumListField, DateField)):
            validation = None
        if validation is not None:
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}{rows + 1}")
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["B"].width = 90
    lists.sheet_state = "hidden"
    book.properties.creator = "pathway"
    book.properties.created = datetime(today.year, today.month, today.day)
    book.save(out)
