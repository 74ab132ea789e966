"""Patient references: normalised, ASCII only, compared case-insensitively (issue 9, item 4).

``MRN-0001``, ``MRN-٠٠٠١`` (Arabic-Indic digits) and ``МRN-0001`` (Cyrillic М) used to
be three patients, which defeated the one-open-episode-per-side rule. Now look-alikes
are refused, compatibility forms (full-width letters) and case are one patient, at the
command line and in imports, and migration 0008 keys the existing rows without
changing a reference or an event.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from pathway.db import migrate
from pathway.db.models import EpisodeRow
from pathway.domain.audit import GENESIS, chain_hash, payload_of
from pathway.domain.patients import normalise_patient_ref, patient_key
from tests.conftest import Pathway, dump
from tests.imports import NOW, r, write_csv

LOOK_ALIKES = ["MRN-\u0660\u0660\u0660\u0661", "\u041cRN-0001", "MRN-0001\u200b", "MRN 0001", "MRN-0001;", "é"]
SAME_PATIENT = ["mrn-0001", "Mrn-0001", "\uff2d\uff32\uff2e-\uff10\uff10\uff10\uff11", " MRN-0001 ", "\tMRN-0001\n"]


def refused(result: Any, before: dict, engine: sa.Engine, *, echoed: str | None = None) -> str:
    assert result.exit_code == 2, result.output
    assert dump(engine) == before
    if echoed is not None and len(echoed.strip()) >= 4:
        assert echoed.strip() not in result.stderr  # a patient reference is never echoed
    return result.stderr


def test_the_rule() -> None:
    assert normalise_patient_ref("  \uff2d\uff32\uff2e-\uff10\uff10\uff10\uff11 ") == "MRN-0001"
    assert normalise_patient_ref("a.b/c:d_e-F9") == "a.b/c:d_e-F9"
    assert patient_key("MRN-0001") == patient_key("mrn-0001") == patient_key("\uff4d\uff52\uff4e-0001")
    for bad in [*LOOK_ALIKES, "", "   ", "x" * 65]:
        with pytest.raises(ValueError):
            normalise_patient_ref(bad)


@pytest.mark.parametrize("ref", LOOK_ALIKES)
def test_look_alikes_are_refused(pathway: Pathway, engine: sa.Engine, ref: str) -> None:
    pathway.open("MRN-0001", "left")
    before = dump(engine)
    message = refused(pathway("episode", "open", "--patient", ref, "--side", "left"), before, engine, echoed=ref)
    assert ("unprintable character" if "\u200b" in ref else "ASCII letters, digits and - _ . / :") in message
    assert refused(pathway("episode", "list", "--patient", ref), before, engine, echoed=ref)


@pytest.mark.parametrize("ref", SAME_PATIENT)
def test_case_and_compatibility_forms_are_the_same_patient(pathway: Pathway, engine: sa.Engine, ref: str) -> None:
    first = pathway.open("MRN-0001", "left")
    before = dump(engine)
    message = refused(pathway("episode", "open", "--patient", ref, "--side", "left"), before, engine)
    assert f"already has an open episode on the left side (episode {first})" in message
    assert [e["id"] for e in pathway.json("episode", "list", "--patient", ref)] == [first]
    other = pathway.open(ref, "right")  # the other side is another course of care, stored normalised
    assert pathway.json("episode", "show", str(other))["patient_ref"] == normalise_patient_ref(ref)
    assert [e["id"] for e in pathway.json("episode", "list", "--patient", "MRN-0001")] == [first, other]


def test_the_database_index_compares_keys(engine: sa.Engine, pathway: Pathway) -> None:
    """Two writers that both pass the check still cannot both open: the unique index is on the key."""
    pathway.open("MRN-0001", "left")
    episodes = EpisodeRow.__table__
    with engine.connect() as conn:
        row = dict(conn.execute(sa.select(episodes)).mappings().one())
        assert row["patient_key"] == "mrn-0001"
        row.pop("id")
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.insert(episodes).values({**row, "patient_ref": "mrn-0001"}))


def test_amend_and_correct_apply_the_rule(pathway: Pathway, engine: sa.Engine) -> None:
    pathway.open("MRN-0001", "left")
    second = pathway.open("MRN-0002", "left")
    before = dump(engine)
    for args in (["advance", str(second), "amend", "--set", "reason=typo"],
                 ["correct", str(second), "1", "--reason", "typo"]):  # fmt: skip
        for ref in ("\u041cRN-0001", "mrn-0001"):
            result = pathway(*args, "--set", f"patient_ref={ref}")
            assert result.exit_code == 2, (args, ref, result.output)
            assert dump(engine) == before
    pathway.ok("correct", str(second), "1", "--reason", "typo", "--set", "patient_ref= \uff2d\uff32\uff2e-0003 ")
    shown = pathway.json("episode", "show", str(second))
    assert shown["patient_ref"] == "MRN-0003"
    assert [e["id"] for e in pathway.json("episode", "list", "--patient", "mrn-0003")] == [second]
    assert pathway.json("episode", "list", "--patient", "MRN-0002") == []
    assert pathway("audit", "verify").exit_code == 0


def _import(pathway: Pathway, path: Path) -> Any:
    with freeze_time(NOW):
        return pathway("--json", "import", str(path))


def test_imports_apply_the_same_rule(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> None:
    with freeze_time(NOW):
        existing = pathway.open("MRN-5", "left", "2026-01-05")
    before = dump(engine)
    look_alike = write_csv(tmp_path / "a.csv", [r("\u041cRN-5", "left", "open", "2026-01-05")])
    result = _import(pathway, look_alike)
    assert result.exit_code != 0 and dump(engine) == before
    assert "ASCII letters, digits and - _ . / :" in result.output and "\u041cRN-5" not in result.output
    second_open = write_csv(tmp_path / "b.csv", [r("mrn-5", "left", "open", "2026-01-05")])
    result = _import(pathway, second_open)
    assert result.exit_code != 0 and dump(engine) == before
    assert f"already has an open episode on the left side (episode {existing})" in result.output
    in_file = write_csv(tmp_path / "c.csv", [r("MRN-6", "right", "open", "2026-01-05"),
                                              r("mrn-6", "right", "open", "2026-01-06")])  # fmt: skip
    assert _import(pathway, in_file).exit_code != 0 and dump(engine) == before
    continued = write_csv(tmp_path / "d.csv", [r(" mrn-5 ", "left", "order_radiographs", "2026-01-06"),
                                               r("\uff2d\uff32\uff2e-5", "left", "record_radiographs", "2026-01-08",
                                                 result="negative")])  # fmt: skip
    result = _import(pathway, continued)
    assert result.exit_code == 0, result.output
    assert [(e["id"], e["state"]) for e in pathway.json("episode", "list")] == [(existing, "radiographs_reported")]
    assert pathway("audit", "verify").exit_code == 0


# -- migration 0008 on rows written before it --------------------------------------------


def _legacy_episode(conn: sa.Connection, template: dict[str, Any], episode_id: int, ref: str, side: str,
                    event: dict[str, Any]) -> None:  # fmt: skip
    """An episode opened by the code before 0008 (no key column yet), its opening event hashed as then."""
    meta = sa.MetaData()
    episodes = sa.Table("episodes", meta, autoload_with=conn)
    events = sa.Table("events", meta, autoload_with=conn)
    new_event = {**event, "episode_id": episode_id, "fields": {**event["fields"], "patient_ref": ref, "side": side}}
    new_event.pop("id")
    new_event["hash"] = chain_hash(GENESIS, payload_of(new_event))
    conn.execute(sa.insert(episodes).values({**template, "id": episode_id, "patient_ref": ref, "side": side,
                                             "head_hash": new_event["hash"]}))  # fmt: skip
    conn.execute(sa.insert(events).values(new_event))


def test_the_migration_keys_old_rows_and_reports_clashes(pathway: Pathway, engine: sa.Engine,
                                                         capfd: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    template_id = pathway.open("MRN-1", "left")
    migrate.downgrade(engine, "0007")
    with engine.begin() as conn:
        meta = sa.MetaData()
        episodes = sa.Table("episodes", meta, autoload_with=conn)
        events = sa.Table("events", meta, autoload_with=conn)
        template = dict(conn.execute(sa.select(episodes).where(episodes.c.id == template_id)).mappings().one())
        event = dict(conn.execute(sa.select(events).where(events.c.episode_id == template_id)).mappings().one())
        _legacy_episode(conn, template, 2, "mrn-1", "left", event)  # the same patient, as 0007 let it be
        _legacy_episode(conn, template, 3, "\u041cRN-1", "left", event)  # a look-alike
        _legacy_episode(conn, template, 4, "mrn-1", "right", event)  # the other side: no clash
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = {r.id: (r.patient_ref, r.patient_key) for r in conn.execute(sa.select(EpisodeRow.__table__))}
        stored_events = conn.execute(sa.text("SELECT episode_id, fields, hash FROM events ORDER BY id")).all()
    assert rows == {1: ("MRN-1", "mrn-1"), 2: ("mrn-1", "mrn-1#2"), 3: ("\u041cRN-1", "\u043crn-1"),
                    4: ("mrn-1", "mrn-1")}  # fmt: skip
    assert len(stored_events) == 4
    report = capfd.readouterr().err
    assert "episodes 2 are open on the same side as an older open episode of the same patient" in report
    assert "episodes 3 have patient references with characters other than" in report
    assert "MRN-1" not in report and "mrn-1" not in report  # ids only: references are personal data
    result = pathway("--json", "audit", "verify")
    assert result.exit_code == 0 and json.loads(result.stdout)["intact"]
    # Both clashing episodes still count as the patient's; nothing can open a third; each can go on.
    assert [e["id"] for e in pathway.json("episode", "list", "--patient", "MRN-1")] == [1, 2, 4]
    assert pathway("episode", "open", "--patient", "mrn-1", "--side", "left").exit_code == 2
    pathway.ok("advance", "2", "order_radiographs")
    pathway.ok("advance", "1", "close", "--set", "reason=withdrawn")
    assert pathway("episode", "open", "--patient", "MRN-1", "--side", "left").exit_code == 2  # episode 2 is open
    # and downgrading keeps every row (the old index holds: references differ as typed)
    migrate.downgrade(engine, "0007")
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM episodes")) == 4
    migrate.upgrade(engine)


def test_one_patient_has_one_pseudonym_whatever_the_case(pathway: Pathway) -> None:
    first = pathway.open("MRN-0001", "left")
    pathway.ok("advance", str(first), "close", "--set", "reason=withdrawn")
    again = pathway.open("mrn-0001", "left")  # a new course of care, typed in lower case
    other = pathway.open("MRN-0002", "left")
    lines = [json.loads(line) for line in pathway.ok("audit", "export", "--format", "jsonl").stdout.splitlines()]
    by_episode = {line["episode_id"]: line["patient_pseudonym"] for line in lines}
    assert by_episode[first] == by_episode[again] != by_episode[other]
