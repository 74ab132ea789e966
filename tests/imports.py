"""Import files for tests: a small caseload that uses every column type, and large files.

Dates end in January 2027: tests that import them run frozen at ``NOW``.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pathway.imports.columns import COLUMNS

NOW = "2027-03-01 10:00:00"

Row = dict[str, Any]


def r(patient: str, side: str, trigger: str, on: str, **fields: Any) -> Row:
    return {"patient_ref": patient, "side": side, "trigger": trigger, "occurred_on": on, **fields}


# Episode A-left: the whole pathway to surgery and discharge, every field type on the way.
A_LEFT = [
    r("MRN-A", "left", "open", "2026-01-05"),
    r("MRN-A", "left", "order_radiographs", "2026-01-06"),
    r("MRN-A", "left", "record_radiographs", "2026-01-10", result="negative"),
    r("MRN-A", "left", "order_mri", "2026-01-11"),
    r("MRN-A", "left", "record_mri", "2026-01-20", ifs_mm="12.5", qfs_mm="8", qf_edema="true",
      qf_fatty_replacement="no", positioning="neutral, feet together"),
    r("MRN-A", "left", "confirm_diagnosis", "2026-01-22"),
    r("MRN-A", "left", "start_conservative", "2026-02-01", components="nsaids,physical_therapy", pain="7",
      mhhs="55.5"),
    r("MRN-A", "left", "inject", "2026-02-15", guidance="ultrasound", agent="corticosteroid_anaesthetic"),
    r("MRN-A", "left", "record_injection_response", "2026-02-16", pain_before="8", pain_after="2",
      relief="temporary"),
    r("MRN-A", "left", "record_followup", "2026-03-15", pain="6", note="phoned; walking 2 km"),
    r("MRN-A", "left", "reassess", "2026-05-05", outcome="persistent", pain="6"),
    r("MRN-A", "left", "refer_to_surgery", "2026-05-06"),
    r("MRN-A", "left", "schedule_surgery", "2026-05-10", approach="open", open_indication="complex",
      planned_on="2026-06-01"),
    r("MRN-A", "left", "record_surgery", "2026-06-01", approach="open", sciatic_neurolysis="yes"),
    r("MRN-A", "left", "record_followup", "2026-07-15", pain="3", mhhs="75"),
    r("MRN-A", "left", "discharge", "2026-12-01", outcome="improved", pain="2", mhhs="85"),
]  # fmt: skip
# B-right: an arthroplasty, closed with the diagnosis it allows; referral given apart from the date.
B_RIGHT = [
    {**r("MRN-B", "right", "open", ""), "referred_on": "2026-02-01", "has_hip_arthroplasty": "true"},
    r("MRN-B", "right", "order_radiographs", "2026-02-02"),
    r("MRN-B", "right", "close", "2026-02-20", reason="alternative_diagnosis",
      diagnosis="adverse_reaction_to_metal_debris"),
]  # fmt: skip
# A-right: the same patient's other side, amended, still referred.
A_RIGHT = [
    r("MRN-A", "right", "open", "2026-03-01"),
    r("MRN-A", "right", "amend", "2026-03-02", has_hip_arthroplasty="true", reason="arthroplasty in 2019"),
]
# C-left: two episodes told apart by episode_key, one closed and a later one still in work-up.
C_LEFT = [
    {**r("MRN-C", "left", "open", "2026-01-10"), "episode_key": "1"},
    {**r("MRN-C", "left", "close", "2026-02-01", reason="lost_to_follow_up"), "episode_key": "1"},
    {**r("MRN-C", "left", "open", "2026-11-01"), "episode_key": "2"},
    {**r("MRN-C", "left", "order_radiographs", "2026-11-02"), "episode_key": "2"},
]
CASELOAD = A_LEFT + B_RIGHT + A_RIGHT + C_LEFT
FINAL_STATES = {("MRN-A", "left"): ["discharged"], ("MRN-B", "right"): ["closed"], ("MRN-A", "right"): ["referred"],
                ("MRN-C", "left"): ["closed", "radiographs_ordered"]}  # fmt: skip


def interleaved(rows: list[Row], seed: int = 7) -> list[Row]:
    """The rows shuffled: patients interleaved, dates out of order (the import sorts them)."""
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    return shuffled


def csv_bytes(rows: list[Row], *, delimiter: str = ",", bom: bool = False, columns: tuple[str, ...] = COLUMNS,
              decimal_comma: bool = False) -> bytes:  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        values = [str(row.get(c, "")) for c in columns]
        if decimal_comma:
            numbers = ("ifs_mm", "qfs_mm", "mhhs")
            values = [v.replace(".", ",") if c in numbers else v for c, v in zip(columns, values, strict=True)]
        writer.writerow(values)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()


def write_csv(path: Path, rows: list[Row], **options: Any) -> Path:
    path.write_bytes(csv_bytes(rows, **options))
    return path


def many_episodes(n: int, start: date = date(2026, 1, 5)) -> list[Row]:
    """``n`` episodes of ten rows each, in conservative care after one injection; patients interleaved."""
    rows: list[Row] = []
    for i in range(n):
        day = start + timedelta(days=i % 200)
        patient = f"MRN-{i:05d}"

        def at(days: int, trigger: str, **fields: Any) -> None:
            rows.append(r(patient, "left", trigger, (day + timedelta(days=days)).isoformat(), **fields))  # noqa: B023

        at(0, "open")
        at(1, "order_radiographs")
        at(3, "record_radiographs", result="negative")
        at(4, "order_mri")
        at(10, "record_mri", ifs_mm="11", qfs_mm="9", qf_edema="true", qf_fatty_replacement="false")
        at(12, "confirm_diagnosis")
        at(20, "start_conservative", pain="7")
        at(30, "inject", guidance="ultrasound", agent="corticosteroid_anaesthetic")
        at(31, "record_injection_response", pain_before="8", pain_after="3", relief="temporary")
        at(60, "record_followup", pain="5")
    return interleaved(rows, seed=n)
