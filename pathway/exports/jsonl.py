"""The audit trail as JSON Lines: one JSON object per event, keys as the CSV columns."""

from __future__ import annotations

import io
from collections.abc import Iterable
from json.encoder import encode_basestring
from typing import Any, BinaryIO

from pathway.exports.records import JSON_COLUMNS, Progress, Record, reporting


def _template(columns: tuple[str, ...]) -> str:
    """A %-format line with one slot per column; JSON-valued columns go in as they are."""
    return "{" + ",".join(f'"{c}":%s' for c in columns) + "}\n"


def _encode(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write(out: BinaryIO, columns: tuple[str, ...], records: Iterable[Record], progress: Progress | None) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="\n", write_through=False)
    line = _template(columns)
    raw = [c in JSON_COLUMNS for c in columns]
    n = 0
    for n, record in enumerate(reporting(records, progress), 1):  # noqa: B007 - n is the count afterwards
        text.write(line % tuple(v if is_json else _encode(v) for v, is_json in zip(record, raw, strict=True)))
    text.flush()
    text.detach()
    return n
