"""Every table at an 80-column terminal, and plain text in a pipe.

At a terminal no line may be longer than the terminal and no identifier, date or
reference may be split across lines (free text wraps instead, or moves to lines of its
own); in a pipe, output is plain tab-separated text with no padding.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from freezegun import freeze_time

from pathway.commands import common
from tests.conftest import Pathway
from tests.walk import WALK, sets

NOW = "2026-12-01 12:00:00"
NOTE = "phoned the patient, who reports that sitting for long periods still hurts on the left side"


def _build(pathway: Pathway, tmp_path: Any) -> None:
    with freeze_time(NOW):
        for n, patient in enumerate(("MRN-00420001", "MRN-00420002", "MRN-00420003")):
            eid = pathway.open(patient, "left", "2026-01-05")
            for step, on, items in WALK[: (9, 6, 1)[n]]:
                pathway.ok("advance", str(eid), step, "--on", on, *sets(items))
        pathway.ok("advance", "1", "record_followup", "--on", "2026-05-11", "--set", "pain=4",
                   "--set", f"note={NOTE}")  # fmt: skip
        pathway.ok("advance", "3", "order_mri", "--on", "2026-05-11", "--override", "radiographs taken elsewhere, "
                   "reported by the referring hospital; copies requested")  # fmt: skip
        pathway.ok("jobs", "flag-overdue")
        rules = tmp_path / "rules.toml"
        pathway.ok("rules", "export", "1", "--out", str(rules))
        text = rules.read_text().replace("value = 42\n", "value = 56\n")
        rules.write_text(text)
        pathway.ok("rules", "new", "--from", str(rules), "--note", "longer interval between corticosteroid "
                   "injections, as agreed by the hip MDT in November")  # fmt: skip


COMMANDS = [
    ("episode", "list"), ("episode", "show", "1"), ("episode", "history", "1"), ("next", "1"), ("next", "2"),
    ("worklist", "--due-within", "400"), ("rules", "list"), ("rules", "show", "1"), ("rules", "diff", "1", "2"),
    ("db", "info"), ("report", "quality"), ("rules", "migrate", "--to", "2", "--all-on", "1", "--dry-run"),
]  # fmt: skip


def _words(data: Any) -> set[str]:
    """Identifiers, dates and references in a command's JSON: what must never be split."""
    text = json.dumps(data)
    found = set(re.findall(r"\b\d{4}-\d{2}-\d{2}\b", text)) | set(re.findall(r"MRN-\d+", text))
    found |= set(re.findall(r'"([a-z]+(?:_[a-z]+)+)"', text))  # states, triggers, kinds, rule keys
    return found


@pytest.mark.parametrize("columns", [80])
def test_every_table_fits_an_80_column_terminal(
    pathway: Pathway, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    _build(pathway, tmp_path)
    monkeypatch.setattr(common, "interactive", lambda: True)
    monkeypatch.setenv("COLUMNS", str(columns))
    for args in COMMANDS:
        with freeze_time(NOW):
            shown = pathway.ok(*args).stdout
            data = pathway.json(*args)
        lines = shown.splitlines()
        assert lines, args
        too_long = [line for line in lines if len(line) > columns]
        assert not too_long, (args, too_long)
        flat = " ".join(lines)
        whole = {w for w in _words(data) if w in flat.replace(" ", "") and w not in shown}
        assert not whole, (args, whole)  # present, but split across lines


def test_piped_output_is_plain_unpadded_text(pathway: Pathway, tmp_path: Any) -> None:
    _build(pathway, tmp_path)
    with freeze_time(NOW):
        for args in COMMANDS:
            out = pathway.ok(*args).stdout
            assert not [line for line in out.splitlines() if line != line.rstrip(" ")], args
            assert "  " * 8 not in out, args  # no column padding
            assert len(max(out.splitlines(), key=len)) < 1000, args
        lines = pathway.ok("next", "1").stdout.splitlines()
    assert lines[1].split("\t") == ["trigger", "allowed", "what it does / why not", "fields ([optional])"]
    row = next(line.split("\t") for line in lines if line.startswith("record_followup\t"))
    assert row[1] == "yes" and row[3] == "pain=0-10 [mhhs=0-100] [note=text]"
