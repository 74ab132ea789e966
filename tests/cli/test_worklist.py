"""`pathway worklist`: what is overdue, due or coming, most overdue first, in three formats."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from freezegun import freeze_time

from tests.conftest import Pathway
from tests.flag_helpers import plus, sweep, walk

D = date(2026, 3, 2)
TODAY = plus(D, 50)


@pytest.fixture
def ids(pathway: Pathway) -> dict[str, int]:
    """Four episodes; on TODAY two are overdue, one is due and more come due within 40 days."""
    with freeze_time("2026-03-02 12:00:00"):
        made = {
            "xray": pathway.open("MRN-X", "left", "2026-02-01"),
            "mri": pathway.open("MRN-M", "right", "2026-02-01"),
            "conservative": pathway.open("MRN-C", "left", "2026-02-01"),
            "postop": pathway.open("MRN-P", "right", "2026-02-01"),
        }
        walk(pathway, made["xray"], "radiographs_ordered", D)  # overdue from D+14
        walk(pathway, made["mri"], "mri_ordered", plus(D, -10))  # overdue from D+18
        walk(pathway, made["conservative"], "conservative_care", D)  # due D+90, overdue D+180
        walk(pathway, made["postop"], "post_operative", D)  # day 42: due D+42, overdue D+56
    sweep(pathway, TODAY)
    return made


def rows(pathway: Pathway, *options: str) -> list[tuple[int, str, int | None, str, int]]:
    with freeze_time(TODAY):
        data = pathway.json("worklist", *options)
    return [(r["episode_id"], r["kind"], r["milestone"], r["status"], r["days_overdue"]) for r in data]


def test_the_default_worklist_is_what_is_due_today_most_overdue_first(pathway: Pathway, ids: dict[str, int]) -> None:
    assert rows(pathway) == [
        (ids["xray"], "radiograph_report", None, "overdue", 36),
        (ids["mri"], "mri_report", None, "overdue", 32),
        (ids["postop"], "postop_followup", 42, "due", -6),
    ]
    with freeze_time(TODAY):
        (first, *_) = pathway.json("worklist")
    assert first == {
        "episode_id": ids["xray"], "patient_ref": "MRN-X", "side": "left", "state": "radiographs_ordered",
        "kind": "radiograph_report", "milestone": None, "anchor_on": "2026-03-02", "due_on": "2026-03-16",
        "overdue_on": "2026-03-16", "status": "overdue", "days_overdue": 36, "triggers": ["record_radiographs"],
        "opened_at": "2026-04-21T00:00:00+00:00",
    }  # fmt: skip


def test_filters(pathway: Pathway, ids: dict[str, int]) -> None:
    assert [r[0] for r in rows(pathway, "--overdue")] == [ids["xray"], ids["mri"]]
    assert rows(pathway, "--due-within", "40")[2:] == [
        (ids["postop"], "postop_followup", 42, "due", -6),
        (ids["postop"], "postop_followup", 90, "upcoming", -54),
        (ids["conservative"], "reassessment", None, "upcoming", -130),
    ]
    assert [r[2] for r in rows(pathway, "--kind", "postop_followup", "--due-within", "400")] == [42, 90, 180, 365]
    assert rows(pathway, "--overdue", "--kind", "reassessment", "--due-within", "400") == []
    assert [r[0] for r in rows(pathway, "--limit", "1")] == [ids["xray"]]
    assert len(rows(pathway, "--limit", "0", "--due-within", "400")) == 7


def test_csv_and_table(pathway: Pathway, ids: dict[str, int]) -> None:
    with freeze_time(TODAY):
        text = pathway.ok("worklist", "--csv").stdout
        table = pathway.ok("worklist").stdout
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == (
        "episode_id,patient_ref,side,state,kind,milestone,anchor_on,due_on,overdue_on,status,days_overdue,"
        "triggers,opened_at"
    )
    assert [(r["patient_ref"], r["kind"], r["days_overdue"]) for r in parsed] == [
        ("MRN-X", "radiograph_report", "36"), ("MRN-M", "mri_report", "32"), ("MRN-P", "postop_followup", "-6"),
    ]  # fmt: skip
    for expected in ("MRN-X", "overdue 36 d", "record_radiographs", "postop_followup day 42", "overdue in 6 d"):
        assert expected in table


@pytest.mark.parametrize(
    "options",
    [("--kind", "xray"), ("--due-within", "-1"), ("--due-within", "soon"), ("--limit", "-1"), ("--csv", "--json")],
)
def test_bad_options_exit_2(pathway: Pathway, options: tuple[str, ...]) -> None:
    result = pathway("worklist", *options)
    assert result.exit_code == 2 and result.stderr and "episode" not in result.stdout


def test_as_of_another_instant_and_flags_the_job_opened(pathway: Pathway, ids: dict[str, int]) -> None:
    """--now moves "today"; a flag the job has opened stays listed whatever the clock says."""
    with freeze_time(D):
        as_of = pathway.json("worklist", "--now", f"{TODAY.isoformat()}T09:00")
        opened = pathway.json("worklist")
    assert [(r["episode_id"], r["status"]) for r in as_of] == [
        (ids["xray"], "overdue"), (ids["mri"], "overdue"), (ids["postop"], "due"),
    ]  # fmt: skip
    # On D itself nothing is due yet, but the job (run as of TODAY) opened these three.
    assert [r["episode_id"] for r in opened] == [ids["xray"], ids["mri"], ids["postop"]]
    with freeze_time(TODAY):
        bad = pathway("worklist", "--now", "yesterday")
    assert bad.exit_code == 2
