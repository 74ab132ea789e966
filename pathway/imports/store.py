"""Sorting a file's rows by episode and date without holding them in memory.

Rows of many patients may be interleaved and out of date order; each episode must be
judged with all its rows, in date order. The rows go into a private temporary SQLite
database (an anonymous file that SQLite removes when it is closed, never named in a
shared folder) whose sorter spills to disk, so memory stays flat however large the file.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

_BATCH = 10_000
_NO_DATE = "~"  # sorts after every ISO date: rows without a usable date come last in their episode


@dataclass(frozen=True)
class Stored:
    """One row back from the store, in order, with the patient's position in the file."""

    patient_ref: str
    side: str
    episode_key: str
    row: int
    cells: dict[str, str]
    patient: int  # 1 for the file's first patient reference, 2 for the next new one, …


class RowStore:
    def __init__(self) -> None:
        self.db = sqlite3.connect("", isolation_level=None)  # "": a private temporary database
        self.db.execute("PRAGMA cache_size = -16000")  # 16 MB, then pages spill to the temporary file
        self.db.execute("PRAGMA temp_store = FILE")
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute(
            "CREATE TABLE rows (patient TEXT, side TEXT, episode TEXT, day TEXT, later INTEGER, row INTEGER,"
            " cells TEXT)"
        )
        self.db.execute("BEGIN")
        self.pending: list[tuple[str, str, str, str, int, int, str]] = []
        self.count = 0

    def add(self, patient_ref: str, side: str, episode_key: str, day: date | None, is_open: bool, row: int,
            cells: dict[str, str]) -> None:  # fmt: skip
        """Keep a row; on one day an episode's opening row comes before its other rows."""
        day_text = day.isoformat() if day is not None else _NO_DATE
        self.pending.append((patient_ref, side, episode_key, day_text, 0 if is_open else 1, row,
                             json.dumps(cells, ensure_ascii=False)))  # fmt: skip
        self.count += 1
        if len(self.pending) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        self.db.executemany("INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?, ?)", self.pending)
        self.pending.clear()

    def sorted(self) -> Iterator[Stored]:
        """Every row: by patient (in the order the file first names them), side, episode key, date
        (openings first) and row number."""
        self._flush()
        self.db.execute("COMMIT")
        self.db.execute(
            "CREATE TEMP TABLE patients AS SELECT patient, ROW_NUMBER() OVER (ORDER BY first) AS position"
            " FROM (SELECT patient, MIN(row) AS first FROM rows GROUP BY patient)"
        )
        self.db.execute("CREATE INDEX temp.ix_patients ON patients (patient)")
        query = (
            "SELECT r.patient, r.side, r.episode, r.row, r.cells, p.position FROM rows r"
            " JOIN patients p ON p.patient = r.patient"
            " ORDER BY p.position, r.side, r.episode, r.day, r.later, r.row"
        )
        for patient, side, episode, row, cells, position in self.db.execute(query):
            yield Stored(patient, side, episode, row, json.loads(cells), position)

    def close(self) -> None:
        self.db.close()
