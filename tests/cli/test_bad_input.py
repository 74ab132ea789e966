"""Bad input: exit 2 (or 3, 1 by precedence), one clear message, no traceback, no change."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from tests.conftest import Pathway, dump
from tests.walk import WALK

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():  # type: ignore[no-untyped-def]
    with freeze_time("2026-06-01 10:00:00"):
        yield


@pytest.fixture
def in_care(pathway: Pathway) -> int:
    """An episode in conservative care since 2026-02-01, last event that day."""
    eid = pathway.open("MRN-9", "left", "2026-01-05")
    for trigger, on, sets in WALK[: WALK.index(("start_conservative", "2026-02-01", ["pain=7"])) + 1]:
        assert pathway.advance(eid, trigger, on, *sets).exit_code == 0
    return eid


BAD_ADVANCES = [
    # (trigger, --on, --set items, expected exit code, words in the message)
    ("record_followup", "2026-05-01", ["pain=11"], 2, "pain must be from 0 to 10"),
    ("record_followup", "2026-05-01", ["pain=-1"], 2, "pain must be from 0 to 10"),
    ("record_followup", "2026-05-01", ["pain=seven"], 2, "whole number"),
    ("record_followup", "2026-06-02", ["pain=3"], 2, "after today"),
    ("record_followup", "2026-01-31", ["pain=3"], 2, "before this episode's latest clinical date"),
    ("record_followup", "2026-13-01", ["pain=3"], 2, "not a real calendar date"),
    ("record_followup", "2026-05-01", [], 2, "needs pain"),
    ("record_followup", "2026-05-01", ["pain=3", "colour=blue"], 2, "no field 'colour'"),
    ("record_followup", "2026-05-01", ["pain"], 2, "FIELD=VALUE"),
    ("record_followup", "2026-05-01", ["pain=3", "pain=4"], 2, "given twice"),
    ("teleport", "2026-05-01", [], 2, "no trigger 'teleport'"),
    (
        "record_mri",
        "2026-05-01",
        ["ifs_mm=12", "qfs_mm=8", "qf_edema=true", "qf_fatty_replacement=true"],
        2,
        "not possible from state conservative_care",
    ),
    ("discharge", "2026-05-01", ["outcome=improved", "mhhs=100.5"], 2, "mhhs"),
    ("refer_to_surgery", "2026-05-01", [], 1, "refused"),
    (
        "inject",
        "2026-05-01",
        ["guidance=fluoroscopy", "agent=anaesthetic_only"],
        1,
        "fluoroscopy guidance is not allowed",
    ),
]


@pytest.mark.parametrize(("trigger", "on", "sets", "code", "words"), BAD_ADVANCES)
def test_bad_advance_changes_nothing(pathway: Pathway, engine: sa.Engine, in_care: int, trigger: str, on: str,
                                     sets: list[str], code: int, words: str) -> None:  # fmt: skip
    before = dump(engine)
    result = pathway.advance(in_care, trigger, on, *sets)
    assert result.exit_code == code
    assert words in result.stderr
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) <= 2
    assert dump(engine) == before


def test_bad_millimetres_are_refused(pathway: Pathway, engine: sa.Engine) -> None:
    eid = pathway.open("MRN-10", "right", "2026-01-05")
    assert (
        pathway.advance(eid, "order_mri", "2026-01-06", extra=("--override", "radiographs done elsewhere")).exit_code
        == 0
    )
    before = dump(engine)
    for ifs in ("0", "-4", "250", "1e9", "nan"):
        result = pathway.advance(
            eid, "record_mri", "2026-01-07", f"ifs_mm={ifs}", "qfs_mm=8", "qf_edema=true", "qf_fatty_replacement=true"
        )
        assert result.exit_code == 2, ifs
        assert "ifs_mm" in result.stderr
    assert dump(engine) == before


def test_a_refusal_in_json_mode_still_explains_itself_on_stderr(pathway: Pathway, in_care: int) -> None:
    result = pathway("--json", "advance", str(in_care), "refer_to_surgery", "--on", "2026-04-01")
    assert result.exit_code == 1
    assert "conservative care began 2026-02-01, 59 days ago; surgery needs at least 90 days" in result.stderr
    assert '"exit_code": 1' in result.stdout


def test_no_such_episode_wins_over_bad_input(pathway: Pathway, engine: sa.Engine) -> None:
    before = dump(engine)
    result = pathway("advance", "999", "teleport", "--on", "not-a-date", "--set", "nonsense")
    assert result.exit_code == 3
    assert "no episode 999" in result.stderr
    for command in (["episode", "show", "999"], ["episode", "history", "999"], ["next", "999"]):
        assert pathway(*command).exit_code == 3
    assert dump(engine) == before


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--patient", "", "--side", "left"], "must not be empty"),
        (["--patient", "   ", "--side", "left"], "must not be empty"),
        (["--patient", "X" * 65, "--side", "left"], "limit is 64"),
        (["--patient", "MRN\x1b[31m", "--side", "left"], "control"),
        (["--patient", "MRN-1", "--side", "both"], "both"),
        (["--patient", "MRN-1", "--side", "left", "--referred-on", "2026-06-02"], "after today"),
        (["--patient", "MRN-1", "--side", "left", "--referred-on", "yesterday"], "YYYY-MM-DD"),
    ],
)
def test_bad_episode_open(pathway: Pathway, engine: sa.Engine, args: list[str], words: str) -> None:
    before = dump(engine)
    result = pathway("episode", "open", *args)
    assert result.exit_code == 2
    assert words in result.stderr
    assert dump(engine) == before


def test_second_open_episode_for_the_same_patient_and_side_is_refused(pathway: Pathway, engine: sa.Engine) -> None:
    first = pathway.open("MRN-5", "left", "2026-01-05")
    before = dump(engine)
    result = pathway("episode", "open", "--patient", "MRN-5", "--side", "left")
    assert result.exit_code == 2
    assert f"episode {first}" in result.stderr and "MRN-5" not in result.stderr
    assert dump(engine) == before
    pathway.open("MRN-5", "right", "2026-01-05")  # the other side is a separate episode
    assert pathway.advance(first, "close", "2026-02-01", "reason=withdrawn").exit_code == 0
    pathway.open("MRN-5", "left", "2026-03-01")  # a new course of care after the first ended


def test_terminal_episode_refuses_every_trigger(pathway: Pathway, in_care: int) -> None:
    assert pathway.advance(in_care, "discharge", "2026-05-01", "outcome=resolved").exit_code == 0
    result = pathway.advance(in_care, "amend", "2026-05-02", "has_hip_arthroplasty=true", "reason=typo")
    assert result.exit_code == 2
    assert "final" in result.stderr


def test_unreachable_database_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import Pathway as P

    for url, words in [
        ("postgresql://postgres:secret@127.0.0.1:1/nowhere", "Cannot use the database"),
        (f"sqlite:///{tmp_path}/missing-folder/x.db", "does not exist"),
        ("mysql://root@localhost/x", "supports SQLite and PostgreSQL"),
    ]:
        result = P(url)("episode", "list")
        assert result.exit_code == 2, result.output
        assert words in result.stderr
        assert "secret" not in result.output
