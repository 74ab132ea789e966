"""`pathway audit export`: CSV and JSON Lines, pseudonymised by default, identified on request."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import re
import stat
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from pathway.db.models import AccessLogRow, EventRow
from pathway.domain.audit import chain_hash, payload_of
from pathway.exports.records import PSEUDONYMISED_COLUMNS
from tests.conftest import Pathway

NOW = "2027-01-10 12:00:00"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def build_trail(pathway: Pathway) -> dict[str, int]:
    """Three episodes of two patients: one operated on, one closed, one just referred."""
    with freeze_time(NOW):
        a = pathway.open("MRN-A", "left", "2026-01-05")
        for trigger, on, *sets in (
            ("order_radiographs", "2026-01-06"),
            ("record_radiographs", "2026-01-10", "result=negative"),
            ("order_mri", "2026-01-11"),
            ("record_mri", "2026-01-20", "ifs_mm=12", "qfs_mm=8", "qf_edema=true", "qf_fatty_replacement=false",
             "positioning=neutral, per Dr Smith"),
            ("confirm_diagnosis", "2026-01-22"),
            ("start_conservative", "2026-02-01", "pain=7", "mhhs=50"),
            ("inject", "2026-02-15", "guidance=ultrasound", "agent=corticosteroid_anaesthetic"),
            ("record_injection_response", "2026-02-16", "pain_before=8", "pain_after=3", "relief=temporary"),
            ("record_followup", "2026-03-15", "pain=6", "note=phoned on 2026-03-14"),
            ("reassess", "2026-05-05", "outcome=persistent", "pain=6"),
            ("refer_to_surgery", "2026-05-06"),
            ("schedule_surgery", "2026-05-10", "approach=open", "open_indication=complex", "planned_on=2026-06-01"),
            ("record_surgery", "2026-06-01", "approach=open", "sciatic_neurolysis=true"),
            ("record_followup", "2026-07-15", "pain=3", "mhhs=75"),
            ("discharge", "2026-12-01", "outcome=improved", "pain=2", "mhhs=85"),
        ):  # fmt: skip
            assert pathway.advance(a, trigger, on, *sets).exit_code == 0, trigger
        b = pathway.open("MRN-B", "right", "2026-02-01")
        pathway.advance(b, "order_mri", "2026-02-03", extra=("--override", "MRI already done for Mr Jones"))
        pathway.advance(b, "close", "2026-02-20", "reason=alternative_diagnosis",
                        "diagnosis=greater_trochanteric_bursitis")  # fmt: skip
        c = pathway.open("MRN-A", "right", "2026-03-01")
    return {"a": a, "b": b, "c": c}


def export(pathway: Pathway, *args: str, env: dict[str, str] | None = None) -> str:
    with freeze_time(NOW):
        result = pathway("audit", "export", *args, env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_is_pseudonymised_by_default(pathway: Pathway) -> None:
    ids = build_trail(pathway)
    text = export(pathway, "--format", "csv")
    table = rows(text)
    assert len(table) == 16 + 3 + 1
    assert list(table[0]) == [
        "episode_id", "seq", "patient_pseudonym", "side", "trigger", "from_state", "to_state", "occurred_day",
        "recorded_day", "actor", "role", "rules_version", "fields", "guards", "override_reason", "overridden_guards",
        "prev_hash", "hash", "status", "source", "source_sha256", "source_row", "auth",
    ]  # fmt: skip
    assert "MRN" not in text and "Smith" not in text and "Jones" not in text  # references and free text gone
    assert not ISO_DATE.search(text), ISO_DATE.search(text)  # no calendar date anywhere, guard messages included
    by_episode = {int(r["episode_id"]): r["patient_pseudonym"] for r in table}
    assert by_episode[ids["a"]] == by_episode[ids["c"]] != by_episode[ids["b"]]  # one patient, one pseudonym
    assert re.fullmatch(r"[0-9a-f]{32}", by_episode[ids["a"]])
    a = [r for r in table if int(r["episode_id"]) == ids["a"]]
    assert [int(r["occurred_day"]) for r in a][:4] == [0, 1, 5, 6]
    assert {int(r["recorded_day"]) for r in a} == {(date(2027, 1, 10) - date(2026, 1, 5)).days}
    opening = json.loads(a[0]["fields"])
    assert opening == {"patient_pseudonym": by_episode[ids["a"]], "side": "left", "referred_day": 0,
                       "has_hip_arthroplasty": False}  # fmt: skip
    assert json.loads(a[12]["fields"])["planned_day"] == (date(2026, 6, 1) - date(2026, 1, 5)).days
    assert json.loads(a[4]["fields"])["positioning"] == "[free text withheld]"
    assert "conservative care began day 27, 94 days ago" in a[11]["guards"]
    b = [r for r in table if int(r["episode_id"]) == ids["b"]]
    assert b[1]["override_reason"] == "[free text withheld]" and json.loads(b[1]["overridden_guards"]) == [
        "radiographs_first"
    ]


def test_pseudonyms_are_a_keyed_hash_stable_across_exports(pathway: Pathway, tmp_path: Path) -> None:
    build_trail(pathway)
    first = rows(export(pathway, "--format", "csv"))
    key_file = tmp_path / "pseudonym.key"  # PATHWAY_PSEUDONYM_KEY_FILE (tests/conftest.py), created on first use
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = rows(export(pathway, "--format", "csv"))
    assert [r["patient_pseudonym"] for r in first] == [r["patient_pseudonym"] for r in again]
    key = key_file.read_text().strip()
    assert first[0]["patient_pseudonym"] == hmac.new(key.encode(), b"mrn-a", hashlib.sha256).hexdigest()[:32]
    site_key = "k" * 40
    keyed = rows(export(pathway, "--format", "csv", env={"PATHWAY_PSEUDONYM_KEY": site_key}))
    assert keyed[0]["patient_pseudonym"] == hmac.new(site_key.encode(), b"mrn-a", hashlib.sha256).hexdigest()[:32]
    assert keyed[0]["patient_pseudonym"] != first[0]["patient_pseudonym"]


def test_unsafe_keys_are_refused(pathway: Pathway, tmp_path: Path) -> None:
    build_trail(pathway)
    short = pathway("audit", "export", "--format", "csv", env={"PATHWAY_PSEUDONYM_KEY": "too-short"})
    assert short.exit_code == 2 and "too short" in short.stderr and "too-short" not in short.stderr
    loose = tmp_path / "loose.key"
    loose.write_text("x" * 64)
    loose.chmod(0o644)
    result = pathway("audit", "export", "--format", "csv", env={"PATHWAY_PSEUDONYM_KEY_FILE": str(loose)})
    assert result.exit_code == 2 and "chmod 600" in result.stderr
    assert result.stdout == ""


HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


def _guesses(engine: sa.Engine, exported: dict[str, Any], mrns: list[str], days: list[date]) -> list[tuple[str, date]]:
    """The (MRN, referral date) pairs whose opening event would hash to a value found in the export.

    The attacker is given everything else the hash covers, even the exact recording
    instant (read here from the database), so that only the two guesses remain.
    """
    events = EventRow.__table__
    with engine.connect() as conn:
        query = sa.select(events).where(events.c.episode_id == int(exported["episode_id"]), events.c.seq == 1)
        row = dict(conn.execute(query).mappings().one())
    found = set(HEX64.findall(exported["text"]))
    confirmed = []
    for mrn in mrns:
        for day in days:
            fields = {**row["fields"], "patient_ref": mrn, "referred_on": day.isoformat()}
            guess = {**row, "fields": fields, "occurred_on": day}
            if chain_hash(row["prev_hash"], payload_of(guess)) in found:
                confirmed.append((mrn, day))
    return confirmed


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "fhir"])
def test_a_pseudonymised_export_cannot_confirm_a_guessed_patient_or_date(
    pathway: Pathway, engine: sa.Engine, tmp_path: Path, fmt: str
) -> None:  # fmt: skip
    ids = build_trail(pathway)
    if fmt == "fhir":
        export(pathway, "--format", "fhir", "--out", str(tmp_path / "fhir"))
        text = "".join(p.read_text() for p in sorted((tmp_path / "fhir").iterdir()))
    else:
        text = export(pathway, "--format", fmt)
    mrns = [f"MRN-{c}" for c in "ABCDEFGH"] + [f"MRN-{n:04d}" for n in range(40)]
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(90)]  # the real dates are among them
    for episode in ids.values():
        assert _guesses(engine, {"episode_id": episode, "text": text}, mrns, days) == []
    # The same attack succeeds on an identified export: the test can tell a confirmed guess.
    identified = export(pathway, "--format", "csv", "--identified")
    assert _guesses(engine, {"episode_id": ids["a"], "text": identified}, mrns, days) == [("MRN-A", date(2026, 1, 5))]


def test_pseudonymised_hashes_are_keyed_and_still_link(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> None:
    build_trail(pathway)
    table = rows(export(pathway, "--format", "csv"))
    key = (tmp_path / "pseudonym.key").read_text().strip().encode()
    with engine.connect() as conn:
        stored = {(r.episode_id, r.seq): r.hash for r in conn.execute(sa.text("SELECT episode_id, seq, hash FROM events"))}
    for before, row in zip([None, *table], table, strict=False):
        real = stored[(int(row["episode_id"]), int(row["seq"]))]
        assert row["hash"] != real
        assert row["hash"] == hmac.new(key, b"pathway event hash\n" + real.encode(), hashlib.sha256).hexdigest()
        if row["seq"] == "1":
            assert row["prev_hash"] == "0" * 64
        else:
            assert before is not None and row["prev_hash"] == before["hash"]  # the chain still reads as a chain


def test_without_a_key_a_pseudonymised_export_is_refused(pathway: Pathway, engine: sa.Engine,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    build_trail(pathway)
    monkeypatch.delenv("PATHWAY_PSEUDONYM_KEY_FILE")
    for fmt in ("csv", "jsonl"):
        result = pathway("audit", "export", "--format", fmt)
        assert result.exit_code == 2 and result.stdout == ""
        assert "none is set. Set PATHWAY_PSEUDONYM_KEY_FILE to a file path that every exporter" in result.stderr
    assert export(pathway, "--format", "csv", "--identified")  # an identified export needs no key


def test_identified_jsonl_can_be_rehashed_and_is_logged(pathway: Pathway, engine: sa.Engine) -> None:
    build_trail(pathway)
    assert export(pathway, "--format", "jsonl")  # pseudonymised: not logged
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(AccessLogRow)) == 0
    lines = export(pathway, "--format", "jsonl", "--identified").splitlines()
    records = [json.loads(line) for line in lines]
    assert records[0]["patient_ref"] == "MRN-A" and records[0]["occurred_on"] == "2026-01-05"
    for r in records:  # everything needed to recompute each hash offline
        dates = {
            "occurred_on": date.fromisoformat(r["occurred_on"]),
            "recorded_at": datetime.fromisoformat(r["recorded_at"]),
        }
        payload = payload_of({**r, **dates})
        assert chain_hash(r["prev_hash"], payload) == r["hash"]
    with engine.connect() as conn:
        log = conn.execute(sa.select(AccessLogRow)).one()
    assert (log.actor, log.action, log.outcome, log.episode_id) == (
        "tester",
        "audit.export.identified",
        "granted",
        None,
    )
    assert log.detail["format"] == "jsonl" and log.detail["identified"] is True and log.detail["out"] == "-"


def test_jsonl_pseudonymised_matches_csv(pathway: Pathway) -> None:
    build_trail(pathway)
    table = rows(export(pathway, "--format", "csv"))
    lines = [json.loads(line) for line in export(pathway, "--format", "jsonl").splitlines()]
    assert len(lines) == len(table)
    for line, row in zip(lines, table, strict=True):
        assert list(line) == list(row)
        assert line["occurred_day"] == int(row["occurred_day"]) and line["fields"] == json.loads(row["fields"])
        assert line["role"] is None and row["role"] == ""


def test_the_period_selects_events_by_clinical_date(pathway: Pathway) -> None:
    build_trail(pathway)
    table = rows(export(pathway, "--format", "csv", "--identified", "--since", "2026-02-01", "--until", "2026-02-16"))
    assert [(r["episode_id"], r["trigger"]) for r in table] == [
        ("1", "start_conservative"), ("1", "inject"), ("1", "record_injection_response"), ("2", "open"),
        ("2", "order_mri"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "2026-13-01"), "not a real calendar date"),
        (("--since", "2026-03-01", "--until", "2026-02-01"), "swap them"),
        (("--format", "fhir"), "--out FOLDER"),
    ],
)
def test_bad_export_options_are_exit_2(pathway: Pathway, args: tuple[str, ...], message: str) -> None:
    build_trail(pathway)
    fmt = () if "--format" in args else ("--format", "csv")
    result = pathway("audit", "export", *fmt, *args)
    assert result.exit_code == 2 and message in result.stderr
    assert result.stdout == ""


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_output_file_is_replaced_whole(pathway: Pathway, tmp_path: Path) -> None:
    build_trail(pathway)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "trail.csv"
    target.write_text("an earlier export\n")
    export(pathway, "--format", "csv", "--out", str(target))
    assert sorted(_listing(out)) == ["trail.csv"]
    assert rows(target.read_text())[0]["trigger"] == "open"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.parametrize("anonymous", [True, False], ids=["O_TMPFILE", "named temporary"])
def test_a_failed_export_leaves_nothing_behind(
    pathway: Pathway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anonymous: bool
) -> None:
    build_trail(pathway)
    if not anonymous:
        monkeypatch.delattr(os, "O_TMPFILE")
    out = tmp_path / "out"
    out.mkdir()
    (out / "trail.jsonl").write_text("an earlier export\n")
    before = _listing(out)

    def failing(rows: Any, *args: Any, **kwargs: Any) -> Any:
        for i, _ in enumerate(rows):
            if i == 5:
                raise OSError(28, "No space left on device")
            yield (1,) * len(PSEUDONYMISED_COLUMNS)

    monkeypatch.setattr("pathway.exports.records.pseudonymised", failing)
    for fmt, name in (("jsonl", "trail.jsonl"), ("csv", "new.csv")):
        result = pathway("audit", "export", "--format", fmt, "--out", str(out / name))
        assert result.exit_code == 2 and "nothing was written" in result.stderr
        assert _listing(out) == before
