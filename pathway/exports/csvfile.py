"""The audit trail as CSV: one row per event, JSON-valued columns as JSON text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import BinaryIO

from pathway.exports.records import Progress, Record, reporting


def write(out: BinaryIO, columns: tuple[str, ...], records: Iterable[Record], progress: Progress | None) -> int:
    """Write a header and every record; returns the number of records."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    n = 0
    for n, record in enumerate(reporting(records, progress), 1):  # noqa: B007 - n is the count afterwards
        writer.writerow(record)
    text.flush()
    text.detach()
    return n
