"""Hostile input through the CLI: hypothesis-made values for every option and --set field.

Huge numbers, NaN, unicode, control characters, SQL fragments, very long strings and
malformed dates never cause a traceback or a database change: each is refused with exit
2 and a short sentence on stderr, or accepted exactly when it is valid. Validity is
judged here by small predicates written from the specification, not by the code.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import stat
import threading
import unicodedata
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import pytest
import sqlalchemy as sa
from click.testing import Result
from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Pathway, dump
from tests.pathway_spec import STATES, VALID_FIELDS
from tests.walk import episode_before, sets

TODAY = date(2026, 12, 1)
SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

NASTY = [
    "", " ", "NaN", "nan", "inf", "-inf", "1e309", "9" * 400, "-0", "0x10", "1_0", "٣", "１２", "+5", "5.", ".5",
    "\x00", "5\x1f", "\x1f5", "\u202e5", "\ufeff5", "\ud800", "'; DROP TABLE events; --", '" OR 1=1 --', "%s",
    "{0}", "${HOME}", "NULL", "None", "true\n", "2026-02-30", "2026-13-01", "0000-00-00", "9999-12-31",
    "1899-12-31", "2026-1-5", "2026/01/05", "05-01-2026", "\u0662\u0660\u0662\u0666-01-01", "a" * 5000, "é" * 300,
]  # fmt: skip
HOSTILE = st.one_of(
    st.sampled_from(NASTY),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=20),
    st.integers(-(10**30), 10**30).map(str),
    st.floats().map(str),
    st.builds(lambda ch, n: ch * n, st.characters(), st.integers(60, 3000)),
)


# Predicates: is this text a valid value of the kind? (PATHWAY.md's field table.)
def _clean(text: str) -> str | None:
    """The text trimmed of spaces, or None if it holds anything but printable ASCII."""
    trimmed = text.strip(" \t\r\n")
    return trimmed if trimmed.isascii() and trimmed.isprintable() else None


def integer(lo: int, hi: int) -> Callable[[str], bool]:
    def valid(text: str) -> bool:
        s = _clean(text)
        return bool(s and re.fullmatch(r"[+-]?[0-9]{1,9}", s) and lo <= int(s) <= hi)

    return valid


def number(lo: float, hi: float, *, above: bool = False, places: int = 9) -> Callable[[str], bool]:
    def valid(text: str) -> bool:
        s = _clean(text)
        if not s or not re.fullmatch(r"[+-]?[0-9]{1,9}(\.[0-9]{1,%s})?".replace("%s", str(places)), s):
            return False
        value = Decimal(s)
        return (value > Decimal(lo) if above else value >= Decimal(lo)) and value <= Decimal(hi)

    return valid


def boolean(text: str) -> bool:
    return (_clean(text) or "").lower() in {"true", "false", "yes", "no", "y", "n", "1", "0"}


def choice(*options: str) -> Callable[[str], bool]:
    return lambda text: (_clean(text) or "").lower() in options


def text_of(limit: int) -> Callable[[str], bool]:
    def valid(text: str) -> bool:
        if any(ch not in "\n\t" and unicodedata.category(ch).startswith("C") for ch in text):
            return False
        return 0 < len(text.strip()) <= limit

    return valid


def calendar_date(text: str) -> date | None:
    s = _clean(text)
    if not s or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", s):
        return None
    try:
        value = date.fromisoformat(s)
    except ValueError:
        return None
    return value if date(1900, 1, 1) <= value <= date(2199, 12, 31) else None


def components(text: str) -> bool:
    items = [i.strip(" \t\r\n").lower() for i in text.split(",")] if text.isascii() else [""]
    allowed = {"activity_modification", "nsaids", "physical_therapy"}
    return all(items) and set(items) <= allowed and len(set(items)) == len(items)


NOT_ENDOSCOPIC = object()
PAIN, MHHS = integer(0, 10), number(0, 100, places=1)
MM = number(0, 100, above=True)
# trigger -> field -> predicate; cross-field rules for the other fields' VALID_FIELDS values noted.
FIELDS: dict[str, dict[str, Callable[[str], bool]]] = {
    "record_radiographs": {"result": choice("negative", "equivocal", "nondiagnostic", "suggestive_ifi")},
    "record_mri": {"ifs_mm": MM, "qfs_mm": MM, "qf_edema": boolean, "qf_fatty_replacement": boolean,
                   "positioning": text_of(200)},
    "start_conservative": {"components": components, "pain": PAIN, "mhhs": MHHS},
    "inject": {"guidance": choice("ultrasound", "ct", "fluoroscopy"),
               "agent": choice("corticosteroid_anaesthetic", "anaesthetic_only")},
    "record_injection_response": {"pain_before": PAIN, "pain_after": PAIN,
                                  "relief": choice("none", "temporary", "sustained")},
    "record_followup": {"pain": PAIN, "mhhs": MHHS, "note": text_of(1000)},
    "reassess": {"outcome": choice("improved", "persistent"), "pain": PAIN, "mhhs": MHHS},  # resolved: see below
    "return_to_conservative": {"reason": text_of(1000)},
    "schedule_surgery": {"approach": choice("endoscopic"),  # open needs open_indication
                         "open_indication": lambda text: False,  # never with an endoscopic approach
                         "planned_on": lambda text: (calendar_date(text) or date.min) >= TODAY},
    "record_surgery": {"approach": choice("endoscopic", "open"), "sciatic_neurolysis": boolean},
    "discharge": {"outcome": choice("resolved", "improved", "persistent"), "pain": PAIN, "mhhs": MHHS},
    "close": {"reason": choice("withdrawn", "lost_to_follow_up", "declined_treatment"),  # alternative needs diagnosis
              "diagnosis": lambda text: False},  # never with reason withdrawn
    "amend": {"has_hip_arthroplasty": lambda text: (_clean(text) or "").lower() in {"true", "yes", "y", "1"},
              "reason": text_of(1000)},
}  # fmt: skip
RESOLVED = choice("resolved")
GOOD = ["5", " 7 ", "+3", "100", "55.5", "0.5", "true", "No", "Y", "ultrasound", "CT", "temporary", "endoscopic",
        "open", "withdrawn", "persistent", "resolved", "nsaids, physical_therapy", "2027-01-10", "a reason",
        "2026-12-01"]  # fmt: skip


def assert_refused_cleanly(result: Result, before: dict, engine: sa.Engine, code: int = 2) -> None:
    assert result.exit_code == code, (result.exit_code, result.output[:300])
    assert result.stdout == ""
    message = result.stderr.strip()
    assert message and len(message) < 1200 and "Traceback" not in message
    assert message.endswith(".") or "Error:" in message
    assert dump(engine) == before


@pytest.fixture
def frozen() -> Iterator[None]:
    with freeze_time("2026-12-01 10:00:00"):
        yield


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("trigger", sorted(FIELDS))
def test_every_field_takes_only_valid_values(pathway: Pathway, engine: sa.Engine, trigger: str) -> None:
    episode = {"id": episode_before(pathway, trigger, "P-0"), "n": 0}

    @settings(SETTINGS, max_examples=15)
    @given(name=st.sampled_from(sorted(FIELDS[trigger])), text=st.one_of(HOSTILE, st.sampled_from(GOOD)))
    def check(name: str, text: str) -> None:
        values = {**VALID_FIELDS.get(trigger, {}), name: text}
        if trigger == "schedule_surgery":
            values.setdefault("planned_on", "2027-01-10")
        before = dump(engine)
        result = pathway("advance", str(episode["id"]), trigger, *sets([f"{k}={v}" for k, v in values.items()]))
        valid = FIELDS[trigger][name](text) or (trigger == "reassess" and name == "outcome" and RESOLVED(text))
        if not valid:
            assert_refused_cleanly(result, before, engine)
            return
        assert result.exit_code in (0, 1), (name, text[:80], result.output[:300])  # 1: a guard, e.g. CT guidance
        if result.exit_code == 0:  # the episode moved on: the next example gets a fresh one
            episode["n"] += 1
            episode["id"] = episode_before(pathway, trigger, f"P-{episode['n']}")
        else:
            assert dump(engine) == before

    check()


_VISITS = itertools.count(1)


@pytest.mark.usefixtures("frozen")
@given(text=st.one_of(HOSTILE, st.sampled_from(["2026-12-01", "2026-06-01", "2026-11-30", " 2026-12-01 "])))
@SETTINGS
def test_event_dates(pathway: Pathway, engine: sa.Engine, text: str) -> None:
    eid = _one_episode(pathway)
    latest = date.fromisoformat(pathway.json("episode", "show", str(eid))["last_event_on"])
    before = dump(engine)
    visit = f"note=visit {next(_VISITS)}"  # never identical to an earlier follow-up (a likely duplicate)
    result = pathway("advance", str(eid), "record_followup", "--set", "pain=3", "--set", visit, "--on", text)
    when = calendar_date(text)
    if when is None or not latest <= when <= TODAY:
        assert_refused_cleanly(result, before, engine)
    else:
        assert result.exit_code == 0, result.output


@pytest.mark.usefixtures("frozen")
@given(text=st.one_of(HOSTILE, st.just("the patient travels abroad")))
@SETTINGS
def test_override_reasons(pathway: Pathway, engine: sa.Engine, text: str) -> None:
    eid = _one_episode(pathway)
    before = dump(engine)
    result = pathway("advance", str(eid), "refer_to_surgery", "--on", "2026-06-01", "--override", text)
    if text_of(1000)(text):  # conservative care began 2026-02-01: a guard fails, the override is used
        assert result.exit_code == 0, result.output
        reason = f"reason=declined ({next(_VISITS)})"  # not identical to the last return (a likely duplicate)
        pathway.ok("advance", str(eid), "return_to_conservative", "--on", "2026-06-01", "--set", reason)
    else:
        assert_refused_cleanly(result, before, engine)


@pytest.mark.usefixtures("frozen")
@given(which=st.sampled_from(["show", "history", "next", "expect", "limit", "rules"]), text=st.one_of(
    HOSTILE, st.sampled_from(["0", "1", "2", "9", " 1", "2147483647", "2147483648"])))  # fmt: skip
@SETTINGS
def test_ids_versions_and_limits(pathway: Pathway, engine: sa.Engine, which: str, text: str) -> None:
    eid = _one_episode(pathway)
    commands = {
        "show": ["episode", "show", text], "history": ["episode", "history", text], "next": ["next", text],
        "expect": ["advance", str(eid), "record_followup", "--set", "pain=2", "--expect-version", text],
        "limit": ["episode", "list", "--limit", text], "rules": ["rules", "show", "--version", text],
    }  # fmt: skip
    before = dump(engine)
    result = pathway(*commands[which])
    s = text.strip(" ")
    number = int(s) if re.fullmatch(r"[0-9]{1,10}", s) else None
    if number is None or not (1 if which == "limit" else 0) <= number <= 2**31 - 1:
        assert_refused_cleanly(result, before, engine)
        return
    version = pathway.json("episode", "show", str(eid))["version"]
    expected = {
        "show": 0 if number == eid else 3, "history": 0 if number == eid else 3, "next": 0 if number == eid else 3,
        "expect": 0 if number == version else 4, "limit": 0, "rules": 0 if number == 1 else 3,
    }[which]  # fmt: skip
    assert result.exit_code == expected, (which, text, result.output)
    if expected:
        assert dump(engine) == before and result.stderr.strip().endswith(".")


@pytest.mark.usefixtures("frozen")
@given(
    which=st.sampled_from(["patient", "side", "referred", "list-state", "list-patient", "trigger", "as"]),
    text=st.one_of(HOSTILE, st.sampled_from(["MRN-1", "left", "right", "2026-01-05", "referred", "close"])),
)
@SETTINGS  # fmt: skip
def test_other_options(pathway: Pathway, engine: sa.Engine, which: str, text: str) -> None:
    eid = _one_episode(pathway)
    commands = {
        "patient": ["episode", "open", "--patient", text, "--side", "right"],
        "side": ["episode", "open", "--patient", "MRN-77", "--side", text],
        "referred": ["episode", "open", "--patient", "MRN-78", "--side", "right", "--referred-on", text],
        "list-state": ["episode", "list", "--state", text],
        "list-patient": ["episode", "list", "--patient", text],
        "trigger": ["advance", str(eid), text],
        "as": ["--as", text, "episode", "list"],
    }
    normalised = unicodedata.normalize("NFKC", text).strip()  # PATHWAY.md: NFKC, outer spaces removed, then
    ref_ok = bool(re.fullmatch(r"[A-Za-z0-9_./:-]{1,64}", normalised))  # ASCII letters, digits and -_./:
    valid = {
        "patient": ref_ok,
        "side": text in ("left", "right"),
        "referred": (calendar_date(text) or date.max) <= TODAY,
        "list-state": text in STATES,
        "list-patient": ref_ok,
        "trigger": text == "refer_to_surgery",  # the only trigger possible here without fields
        "as": text == "" or (0 < len(text.strip()) <= 128 and text.strip().isprintable()),
    }[which]
    before = dump(engine)
    result = pathway(*commands[which])
    if valid:
        assert result.exit_code == 0, (which, text[:80], result.output[:300])
        if which in ("patient", "side", "referred"):  # undo: close the new episode so that the next example can open
            new = str(_last_id(engine))
            pathway.ok("advance", new, "close", "--set", "reason=withdrawn")
    else:
        assert_refused_cleanly(result, before, engine)
        if which == "patient" and len(text.strip()) >= 4:
            assert text.strip() not in result.stderr  # a patient reference is never echoed


def _one_episode(pathway: Pathway) -> int:
    """The test's episode in conservative care (created on first use, reused by later examples)."""
    found = pathway.json("episode", "list", "--patient", "MRN-1")
    if found:
        return found[0]["id"]
    return episode_before(pathway, "record_followup", "MRN-1")


def _last_id(engine: sa.Engine) -> Any:
    with engine.connect() as conn:
        return conn.scalar(sa.text("SELECT max(id) FROM episodes"))


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize(
    ("trigger", "name", "valid"),
    [("record_followup", "pain", PAIN), ("record_followup", "mhhs", MHHS), ("record_followup", "note", text_of(1000)),
     ("inject", "guidance", FIELDS["inject"]["guidance"])],
)  # fmt: skip
def test_every_known_nasty_value(pathway: Pathway, engine: sa.Engine, trigger: str, name: str, valid: Any) -> None:
    """Each value of the list above, for one field of every kind (hypothesis may not draw them all)."""
    eid = episode_before(pathway, trigger, "P-0")
    others = [f"{k}={v}" for k, v in VALID_FIELDS[trigger].items() if k != name]
    for text in NASTY:
        before = dump(engine)
        result = pathway("advance", str(eid), trigger, *sets([*others, f"{name}={text}"]))
        if valid(text):
            assert result.exit_code in (0, 1), (text[:40], result.output)
            if trigger == "inject" and result.exit_code == 0:  # the episode moved on
                eid = episode_before(pathway, trigger, f"P-{len(before['episodes'])}")
        else:
            assert_refused_cleanly(result, before, engine)


# Internal errors and unbounded input (issue 9, item 6): each is a sentence and exit 2, never a traceback.
HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "args",
    [["audit", "verify", "--episode", HUGE], ["worklist", "--due-within", "2147483647"], ["worklist", "--limit", HUGE],
     ["episode", "show", HUGE], ["episode", "list", "--limit", HUGE], ["void", "1", HUGE], ["rules", "show", HUGE],
     ["rules", "migrate", "--to", "2", "--episode", HUGE, "--dry-run"], ["import", "x.csv", "--rules", HUGE],
     ["worklist", "--due-within", "3661"], ["audit", "verify", "--episode", "-1"]],
)  # fmt: skip
def test_huge_integers_are_refused_by_their_range(pathway: Pathway, engine: sa.Engine, args: list[str]) -> None:
    pathway.open("MRN-1")
    before = dump(engine)
    result = pathway(*args)
    assert_refused_cleanly(result, before, engine)
    assert "is not a whole number from" in result.stderr


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("args", [["episode", "show", "-" * 5000], ["episode", "show", "1", "x" * 5000],
                                  ["--" + "y" * 5000], ["rules", "--" + "z" * 5000]])  # fmt: skip
def test_a_huge_unknown_option_or_extra_argument_is_not_echoed_whole(pathway: Pathway, engine: sa.Engine,
                                                                     args: list[str]) -> None:  # fmt: skip
    pathway.open("MRN-1")
    before = dump(engine)
    assert_refused_cleanly(pathway(*args), before, engine)


@pytest.mark.parametrize("command", [["worklist"], ["jobs", "flag-overdue"]])
@pytest.mark.parametrize("instant", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "9999-12-31",
                                     "1899-12-31T23:00", "2200-01-01"])  # fmt: skip
def test_instants_at_the_ends_of_the_calendar_are_refused(pathway: Pathway, engine: sa.Engine, command: list[str],
                                                          instant: str) -> None:  # fmt: skip
    pathway.ok("advance", str(pathway.open("MRN-1")), "order_radiographs", "--on", "2026-01-05")
    before = dump(engine)
    result = pathway(*command, "--now", instant)
    assert_refused_cleanly(result, before, engine)
    assert "is not plausible (years 1900-2199)" in result.stderr


@pytest.mark.usefixtures("frozen")
def test_the_longest_due_within_still_works(pathway: Pathway) -> None:
    pathway.ok("advance", str(pathway.open("MRN-1")), "order_radiographs", "--on", "2026-11-30")
    assert [row["kind"] for row in pathway.json("worklist", "--due-within", "3660")] == ["radiograph_report"]


def test_every_integer_option_uses_the_shared_range_checked_type() -> None:
    """No command declares a bare click integer (which lets 10**20 through to an OverflowError)."""
    from cli import COMMANDS, cli
    from pathway.commands.common import Integer

    ctx = click.Context(cli)
    found: list[str] = []

    def walk(command: click.Command, path: str) -> None:
        for param in command.params:
            if isinstance(param.type, (click.types.IntParamType, click.types.FloatParamType)) and not isinstance(
                param.type, click.FloatRange
            ):
                found.append(f"{path} {param.name}")
            if isinstance(param.type, Integer):
                found.append("ok")
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, f"{path} {name}")

    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        walk(command, name)
    assert [f for f in found if f != "ok"] == []
    assert found.count("ok") >= 20


def _rule_file(pathway: Pathway, tmp_path: Path) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(pathway.ok("rules", "export", "1").stdout, encoding="utf-8")
    return path


def test_a_huge_rule_file_is_refused_by_its_size(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> None:
    path = _rule_file(pathway, tmp_path)
    with path.open("ab") as f:
        f.truncate(2 * 1024**3)  # sparse: no disk used
    before = dump(engine)
    result = pathway("rules", "new", "--from", str(path))
    assert_refused_cleanly(result, before, engine)
    assert "is 2.0 GiB; pathway reads rule files of up to 1.0 MiB" in result.stderr


def test_a_rule_file_from_an_endless_device_is_refused(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> None:
    zero = tmp_path / "zero"
    os.mknod(zero, 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # the numbers of /dev/zero, as a node of our own
    before = dump(engine)
    result = pathway("rules", "new", "--from", str(zero))
    assert_refused_cleanly(result, before, engine)
    assert "is longer than 1.0 MiB (or never ends)" in result.stderr


def test_a_rule_file_from_an_endless_fifo_is_refused(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> None:
    fifo = tmp_path / "rules.toml"
    os.mkfifo(fifo)
    keep = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, so that the writer is there before pathway reads
    writer = os.open(fifo, os.O_WRONLY)
    chunk = b"# " + b"x" * 65533 + b"\n"

    def feed() -> None:  # forever, until the last reader has gone
        with contextlib.suppress(OSError), os.fdopen(writer, "wb", buffering=0) as pipe:
            while True:
                pipe.write(chunk)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    before = dump(engine)
    try:
        result = pathway("rules", "new", "--from", str(fifo))
    finally:
        os.close(keep)  # the writer's next write fails: the thread ends
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert_refused_cleanly(result, before, engine)
    assert "(or never ends)" in result.stderr


def test_a_rule_file_from_a_short_fifo_is_read(pathway: Pathway, tmp_path: Path) -> None:
    text = _rule_file(pathway, tmp_path).read_bytes()
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    keep = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    writer = os.open(fifo, os.O_WRONLY)
    thread = threading.Thread(target=lambda: (os.write(writer, text[:1000]), os.write(writer, text[1000:]),
                                              os.close(writer)), daemon=True)  # fmt: skip
    thread.start()
    try:
        result = pathway("--json", "rules", "new", "--from", str(fifo))
    finally:
        thread.join(timeout=60)
        os.close(keep)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["version"] == 2


@pytest.mark.parametrize("nested", ["[" * 5000 + "]" * 5000, "{a = " * 5000 + "1" + "}" * 5000])
def test_a_deeply_nested_rule_file_is_refused(pathway: Pathway, engine: sa.Engine, tmp_path: Path,
                                              nested: str) -> None:  # fmt: skip
    path = tmp_path / "deep.toml"
    path.write_text(f"[conservative_min_days]\nvalue = {nested}\n", encoding="utf-8")
    before = dump(engine)
    result = pathway("rules", "new", "--from", str(path))
    assert_refused_cleanly(result, before, engine)
    assert "nests arrays or tables too deeply" in result.stderr


def test_a_deeply_nested_import_line_is_refused(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text('{"fields": ' + "[" * 100000 + "]" * 100000 + "}\n", encoding="utf-8")
    before = dump(engine)
    result = pathway("import", str(path))
    assert_refused_cleanly(result, before, engine)
    assert "Line 1 nests arrays or objects too deeply" in result.stderr


def test_an_endless_key_file_is_refused(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> None:
    zero = tmp_path / "key"
    os.mknod(zero, 0o600 | stat.S_IFCHR, os.makedev(1, 5))
    pathway.open("MRN-1")
    before = dump(engine)
    result = pathway("audit", "export", "--format", "csv", env={"PATHWAY_PSEUDONYM_KEY_FILE": str(zero)})
    assert_refused_cleanly(result, before, engine)
    assert "is not a regular file" in result.stderr
