"""Reading an import file as rows of cells, whatever its format, hashing it on the way.

Every reader yields ``(row number, {column: text})`` with empty cells left out, and the
file's SHA-256 is complete once the rows are exhausted (each event records it, so a
second import of the same file is recognised). Row numbers are what a spreadsheet shows:
the header is row 1 in CSV and xlsx; in JSON Lines a row is a line.

- CSV: UTF-8 with or without a byte-order mark, ``,`` or ``;`` as the delimiter (taken
  from the header line); with ``;`` numbers may use a decimal comma, as such
  spreadsheets write them.
- xlsx: the first worksheet, streamed (openpyxl's read-only mode); real date cells become
  dates, whole numbers lose Excel's ``.0``.
- jsonl: `pathway audit export --identified --format jsonl` of another pathway database.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from pathway.domain.fields import quoted
from pathway.domain.history import CORRECTIONS, NON_CLINICAL
from pathway.domain.replay import OPEN, OPEN_FIELDS
from pathway.domain.triggers import TRIGGERS
from pathway.errors import InvalidInput
from pathway.imports.columns import EPISODE_KEY, OVERRIDE_REASON, REQUIRED, check_header, row_cells
from pathway.inputs import open_input, size_text

FORMATS = ("csv", "xlsx", "jsonl")
MAX_BYTES = 1 << 30  # 1 GiB: about ten million rows of CSV
_CHUNK = 1 << 20
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_ZIP = b"PK\x03\x04"

Cells = dict[str, str]
Rows = Iterator[tuple[int, Cells]]
Progress = Callable[[int], None]


@dataclass
class Source:
    """An input file, opened and checked; ``sha256`` is known once its rows have been read."""

    path: Path
    fmt: str
    size: int
    file: BinaryIO
    name: str = ""  # how messages name the file: its path, or the name an upload was sent under
    sha256: str = ""
    decimal_comma: bool = False
    skipped: dict[str, int] = field(default_factory=dict)

    def close(self) -> None:
        self.file.close()


def open_source(path: Path, fmt: str | None, *, limit: int = MAX_BYTES, name: str | None = None) -> Source:
    """Open ``path`` for import: a regular file within the size limit (never a link), its format given or recognised.

    ``name`` is what messages call it (an upload's own file name, not the server's copy).
    """
    name = name or str(path)
    shown = quoted(name)
    file = open_input(path, what="import files", limit=limit, follow_links=False,
                      advice="Split it by patient into smaller files.")  # fmt: skip
    size = os.fstat(file.fileno()).st_size
    head = file.read(8192)
    file.seek(0)
    if fmt is None:
        fmt = _EXTENSIONS.get(Path(name).suffix.lower()) or _recognise(head)
    if fmt not in FORMATS:
        file.close()
        raise InvalidInput(f"The import format must be one of {', '.join(FORMATS)}, not {quoted(fmt)}.")
    if fmt != "xlsx" and head.startswith(_ZIP):
        file.close()
        raise InvalidInput(f"{shown} is a zip file (an xlsx workbook?), not {fmt}; use --format xlsx.")
    if fmt != "xlsx" and b"\x00" in head:
        file.close()
        raise InvalidInput(f"{shown} is a binary file, not {fmt} text; export the spreadsheet as CSV UTF-8.")
    return Source(path, fmt, size, file, name)


def _recognise(head: bytes) -> str:
    if head.startswith(_ZIP):
        return "xlsx"
    return "jsonl" if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"


def rows(source: Source, progress: Progress | None = None, *, limit: int = MAX_BYTES) -> Rows:
    """The data rows of ``source``; progress is told of bytes read (rows, for xlsx)."""
    if source.fmt == "xlsx":
        return _xlsx_rows(source, progress, limit)
    reader = _Hashing(source.file, progress, limit, source.name)
    if source.fmt == "csv":
        return _csv_rows(source, reader)
    return _jsonl_rows(source, reader)


class _Hashing(io.RawIOBase):
    """A raw reader that hashes and counts what passes through it, and stops at the size limit."""

    def __init__(self, file: BinaryIO, progress: Progress | None, limit: int, name: str) -> None:
        self.file, self.progress, self.limit, self.name = file, progress, limit, name
        self.digest = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.file.readinto(buffer)  # type: ignore[attr-defined]  # binary files opened for reading have it
        if n:
            self.digest.update(memoryview(buffer)[:n])
            self.count += n
            if self.count > self.limit:
                raise InvalidInput(f"{quoted(self.name)} grew past {size_text(self.limit)} while being read.")
            if self.progress is not None:
                self.progress(n)
        return n or 0


def _text(reader: _Hashing, source: Source) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BufferedReader(reader, _CHUNK), encoding="utf-8-sig", newline="")


def _not_utf8(source: Source, where: str) -> InvalidInput:
    return InvalidInput(f'{quoted(source.name)} is not UTF-8 text ({where}); save the spreadsheet as "CSV UTF-8".')


def _delimiter(line: str) -> str:
    """``,`` or ``;``: the one that splits the header line into the required columns (else the commoner)."""
    for candidate in (",", ";"):
        names = {c.strip().lower() for c in next(csv.reader([line], delimiter=candidate), [])}
        if set(REQUIRED) <= names:
            return candidate
    return ";" if line.count(";") > line.count(",") else ","


def _csv_rows(source: Source, reader: _Hashing) -> Rows:
    text = _text(reader, source)
    try:
        first = text.readline()
    except UnicodeDecodeError:
        raise _not_utf8(source, "in the header row") from None
    if not first.strip():
        raise InvalidInput(f"{quoted(source.name)} is empty; the first row must be the header.")
    delimiter = _delimiter(first)
    source.decimal_comma = delimiter == ";"
    header = next(csv.reader([first], delimiter=delimiter))
    names = check_header(header)
    records = csv.reader(text, delimiter=delimiter, strict=True)
    number = 1
    while True:
        try:
            values = next(records, None)
        except UnicodeDecodeError:
            raise _not_utf8(source, f"row {number + 1}") from None
        except csv.Error as exc:
            raise InvalidInput(f"Row {number + 1} cannot be read as CSV ({exc}); check its quotes.") from None
        if values is None:
            break
        number += 1
        cells = row_cells(names, values, number)
        if cells:
            yield number, cells
    source.sha256 = reader.digest.hexdigest()


def _cell_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _unreadable(source: Source, exc: BaseException) -> InvalidInput:
    return InvalidInput(f"{quoted(source.name)} is not a readable xlsx workbook ({exc}).")


MAX_SHARED_STRINGS = 256 << 20  # openpyxl holds a workbook's shared strings in memory


def _check_unpacked(source: Source, limit: int) -> None:
    """Refuse a workbook that would unpack to more than ``limit`` bytes (a "zip bomb").

    A workbook is a zip archive: a few kilobytes can unpack to gigabytes. The sizes come
    from the archive's directory, and ``zipfile`` refuses to unpack a part past its
    stated size, so the check cannot be talked round.
    """
    try:
        with zipfile.ZipFile(source.file) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise _unreadable(source, exc) from None
    finally:
        source.file.seek(0)
    total = sum(part.file_size for part in parts)
    if total > limit:
        raise InvalidInput(f"{quoted(source.name)} would unpack to {size_text(total)}, over the {size_text(limit)} "
                           "an import takes; split it by patient into smaller workbooks.")  # fmt: skip
    shared = sum(p.file_size for p in parts if p.filename.lower().endswith("sharedstrings.xml"))
    if shared > MAX_SHARED_STRINGS:
        raise InvalidInput(f"The text cells of {quoted(source.name)} unpack to {size_text(shared)}, over the "
                           f"{size_text(MAX_SHARED_STRINGS)} read into memory at once; save it as CSV UTF-8, "
                           "or split it by patient into smaller workbooks.")  # fmt: skip


def _xlsx_rows(source: Source, progress: Progress | None, limit: int) -> Rows:
    from openpyxl import load_workbook  # imported only for workbooks: it takes a while

    digest = hashlib.sha256()
    while chunk := source.file.read(_CHUNK):
        digest.update(chunk)
    source.file.seek(0)
    _check_unpacked(source, limit)
    try:
        workbook = load_workbook(source.file, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, zlib.error, SyntaxError) as exc:
        raise _unreadable(source, exc) from None
    number = 0  # the last row read, for a damaged part's message
    try:
        sheet = workbook.worksheets[0]
        lines = sheet.iter_rows(min_row=1, values_only=True)
        header = next(lines, None)
        if header is None:
            raise InvalidInput(
                f"The first sheet of {quoted(source.name)} is empty; its first row must be the header."
            )
        names, number = check_header(["" if v is None else _cell_text(v) for v in header]), 1
        for number, values in enumerate(lines, 2):
            if progress is not None:
                progress(1)
            texts = ["" if v is None else _cell_text(v) for v in values]
            cells = row_cells(names, texts, number)
            if cells:
                yield number, cells
    except (zipfile.BadZipFile, EOFError, zlib.error, SyntaxError) as exc:  # SyntaxError: the XML parsers' errors
        raise InvalidInput(f"{quoted(source.name)} is damaged at row {number + 1} or near it ({exc}); save it "
                           "again from the spreadsheet, or export it as CSV UTF-8.") from None  # fmt: skip
    finally:
        workbook.close()
    source.sha256 = digest.hexdigest()


def _json_text(value: Any) -> str | None:
    """A typed field value from an export, as the text `--set` would take."""
    if value is None:
        return None
    if isinstance(value, list):
        return ",".join(map(str, value))
    return _cell_text(value)


_FIXED = {*REQUIRED, EPISODE_KEY, OVERRIDE_REASON}


def _jsonl_cells(record: Any, number: int) -> Cells | None:
    """An exported event as the cells of an import row (None: an event that is not a step to import)."""
    if not isinstance(record, dict):
        raise InvalidInput(f"Line {number} is not a JSON object; a JSON Lines export has one event per line.")
    missing = [k for k in ("episode_id", "patient_ref", "side", "trigger", "occurred_on", "fields") if k not in record]
    if missing:
        raise InvalidInput(
            f"Line {number} lacks {', '.join(missing)}; import takes `pathway audit export --identified "
            "--format jsonl` (a pseudonymised export cannot be imported)."
        )
    trigger = record["trigger"]
    if trigger in CORRECTIONS:
        raise InvalidInput(
            f"Line {number} is a {trigger} event (it changes an earlier event of the exported episode); importing "
            "corrections is not supported yet, so nothing was imported. Leave the episode's corrections out of the "
            "file and record them again with `pathway correct` or `pathway void` after the import."
        )
    if trigger in NON_CLINICAL:
        return None
    fields = record["fields"]
    if not isinstance(fields, dict):
        raise InvalidInput(f"Line {number}: fields is not a JSON object.")
    cells = {
        "patient_ref": str(record["patient_ref"]),
        "side": str(record["side"]),
        "trigger": str(trigger),
        "occurred_on": str(record["occurred_on"]),
        EPISODE_KEY: str(record["episode_id"]),
    }
    if record.get("override_reason"):
        cells[OVERRIDE_REASON] = str(record["override_reason"])
    derived = TRIGGERS[trigger].derived if trigger in TRIGGERS else ()
    for name, value in fields.items():
        if trigger == OPEN and name not in OPEN_FIELDS:
            continue  # patient_ref and side: the episode's own columns
        if name in derived:
            continue  # recomputed by the import, as by advance
        if name in _FIXED:
            raise InvalidInput(f"Line {number}: a {trigger} event cannot have a field {quoted(name)}.")
        text = _json_text(value)
        if text is not None:
            cells[name] = text
    return cells


def _jsonl_rows(source: Source, reader: _Hashing) -> Rows:
    text = _text(reader, source)
    number = 0
    while True:
        try:
            line = text.readline()
        except UnicodeDecodeError:
            raise _not_utf8(source, f"line {number + 1}") from None
        if not line:
            break
        number += 1
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"Line {number} is not JSON ({exc.msg}, column {exc.colno}).") from None
        except RecursionError:  # the json module parses nested arrays recursively, without a depth limit
            raise InvalidInput(f"Line {number} nests arrays or objects too deeply to be an exported event.") from None
        cells = _jsonl_cells(record, number)
        if cells is None:
            source.skipped[record["trigger"]] = source.skipped.get(record["trigger"], 0) + 1
            continue
        yield number, cells
    if number == 0:
        raise InvalidInput(f"{quoted(source.name)} is empty.")
    source.sha256 = reader.digest.hexdigest()
