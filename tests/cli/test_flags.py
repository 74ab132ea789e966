"""`pathway jobs flag-overdue` and `pathway advance` on flags, as a coordinator sees them.

Events are recorded under a frozen clock; the job runs with --now, as cron would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from pathway.db import repository as repo
from pathway.db.models import EpisodeRow, EventRow, FlagRow, RuleRow, RuleSetRow
from pathway.db.uow import UnitOfWork
from tests.conftest import Pathway, dump
from tests.flag_helpers import flag_rows, plus, step, sweep, walk

D = date(2026, 3, 2)  # the anchor of every scenario
BUILT = "2026-03-02 12:00:00"  # the clock while events are recorded


def day_before(n: int) -> str:
    return f"{plus(D, n - 1).isoformat()}T23:59:59"


@pytest.mark.parametrize(
    ("state", "kind", "n"),
    [
        ("radiographs_ordered", "radiograph_report", 14),
        ("mri_ordered", "mri_report", 28),
        ("radiographs_reported", "workup_decision", 14),
        ("mri_reported", "workup_decision", 14),
        ("diagnosed", "workup_decision", 14),
        ("injection_done", "injection_response", 28),
        ("surgical_referral", "surgery_scheduling", 60),
        ("surgery_scheduled", "surgery_record", 14),
    ],
)
def test_a_flag_opens_on_its_overdue_day_and_not_the_day_before(
    pathway: Pathway, engine: sa.Engine, state: str, kind: str, n: int
) -> None:
    with freeze_time(BUILT):
        eid = pathway.open("MRN-1", "left", D.isoformat())
        walk(pathway, eid, state, D)
    assert sweep(pathway, day_before(n)) == {"opened": 0, "resolved": 0, "open": 0}
    assert sweep(pathway, plus(D, n)) == {"opened": 1, "resolved": 0, "open": 1}
    (flag,) = [f for f in flag_rows(engine) if f["opened_at"] is not None]
    assert (flag["episode_id"], flag["kind"], flag["anchor_on"], flag["milestone"]) == (eid, kind, D, 0)
    assert flag["due_on"] == flag["overdue_on"] == plus(D, n)
    with freeze_time(plus(D, n + 3)):
        (row,) = [r for r in pathway.json("worklist") if r["kind"] == kind]
    assert row["episode_id"] == eid and row["state"] == state and row["patient_ref"] == "MRN-1"
    assert (row["status"], row["days_overdue"]) == ("overdue", 3)


def test_reassessment_is_due_from_day_90_and_overdue_from_day_180(pathway: Pathway) -> None:
    with freeze_time(BUILT):
        eid = pathway.open()
        walk(pathway, eid, "conservative_care", D)
    assert sweep(pathway, day_before(90))["opened"] == 0
    assert sweep(pathway, plus(D, 90))["opened"] == 1
    with freeze_time(plus(D, 179)):
        assert [(r["kind"], r["status"]) for r in pathway.json("worklist")] == [("reassessment", "due")]
        assert pathway.json("worklist", "--overdue") == []
    assert sweep(pathway, plus(D, 180)) == {"opened": 0, "resolved": 0, "open": 1}, "one flag, now overdue"
    with freeze_time(plus(D, 180)):
        (row,) = pathway.json("worklist", "--overdue")
    assert (row["episode_id"], row["kind"], row["days_overdue"], row["triggers"]) == (
        eid,
        "reassessment",
        0,
        ["reassess"],
    )


def test_the_reassessment_window_restarts_after_an_improved_reassessment(pathway: Pathway, engine: sa.Engine) -> None:
    with freeze_time(BUILT):
        eid = pathway.open()
        walk(pathway, eid, "conservative_care", D)
    sweep(pathway, plus(D, 100))
    with freeze_time(plus(D, 100)):
        step(pathway, eid, "reassess", plus(D, 100), "outcome=improved", "pain=3")
    old, new = flag_rows(engine)
    assert (old["resolution"], old["resolved_at"] is not None) == ("satisfied", True)
    assert (new["anchor_on"], new["due_on"], new["overdue_on"]) == (plus(D, 100), plus(D, 190), plus(D, 280))
    assert sweep(pathway, day_before(190))["opened"] == 0
    assert sweep(pathway, plus(D, 190)) == {"opened": 1, "resolved": 0, "open": 1}


def test_an_injection_does_not_stop_the_reassessment_clock(pathway: Pathway) -> None:
    with freeze_time(BUILT):
        eid = pathway.open()
        walk(pathway, eid, "conservative_care", D)
    with freeze_time(plus(D, 130)):
        step(pathway, eid, "inject", plus(D, 120), "guidance=ultrasound", "agent=corticosteroid_anaesthetic")
        step(pathway, eid, "record_injection_response", plus(D, 130), "pain_before=8", "pain_after=4",
             "relief=temporary")  # fmt: skip
    assert sweep(pathway, plus(D, 180))["opened"] == 1
    with freeze_time(plus(D, 180)):
        assert [r["kind"] for r in pathway.json("worklist")] == ["reassessment"]


def test_postop_followups_open_at_each_configured_day(pathway: Pathway, engine: sa.Engine) -> None:
    with freeze_time(BUILT):
        eid = pathway.open()
        walk(pathway, eid, "post_operative", D)
    for milestone in (42, 90, 180, 365):
        assert sweep(pathway, day_before(milestone))["opened"] == 0, milestone
        assert sweep(pathway, plus(D, milestone))["opened"] == 1, milestone
        with freeze_time(plus(D, milestone)):
            rows = pathway.json("worklist")
        assert rows[-1]["milestone"] == milestone and rows[-1]["status"] == "due"
        assert rows[-1]["overdue_on"] == plus(D, milestone + 14).isoformat()
    assert {f["milestone"] for f in flag_rows(engine)} == {42, 90, 180, 365}
    with freeze_time(plus(D, 55)):
        assert 42 not in [r["milestone"] for r in pathway.json("worklist", "--overdue")]
    with freeze_time(plus(D, 56)):
        assert [r["milestone"] for r in pathway.json("worklist", "--overdue")] == [42], "overdue from day 42 + 14"


def test_surgery_record_is_anchored_on_the_planned_date(pathway: Pathway, engine: sa.Engine) -> None:
    with freeze_time(BUILT):
        eid = pathway.open()
        walk(pathway, eid, "surgery_scheduled", D, planned=plus(D, 30))
    assert sweep(pathway, day_before(44))["opened"] == 0
    assert sweep(pathway, plus(D, 44))["opened"] == 1
    (flag,) = [f for f in flag_rows(engine) if f["opened_at"]]
    assert (flag["kind"], flag["anchor_on"], flag["overdue_on"]) == ("surgery_record", plus(D, 30), plus(D, 44))
    with freeze_time(plus(D, 45)):
        step(pathway, eid, "record_surgery", plus(D, 45), "approach=endoscopic", "sciatic_neurolysis=false")
    (flag,) = [f for f in flag_rows(engine) if f["kind"] == "surgery_record"]
    assert flag["resolution"] == "satisfied"


def test_a_followup_within_the_grace_resolves_its_milestone_and_one_outside_does_not(
    pathway: Pathway, engine: sa.Engine
) -> None:
    with freeze_time(BUILT):
        eid = pathway.open()
        walk(pathway, eid, "post_operative", D)
    sweep(pathway, plus(D, 60))  # opens day 42, overdue since day 56
    with freeze_time(plus(D, 60)):
        step(pathway, eid, "record_followup", plus(D, 60), "pain=2")  # 18 days after day 42: too late for it
    assert [f["resolved_at"] for f in flag_rows(engine) if f["milestone"] == 42] == [None]
    with freeze_time(plus(D, 76)):
        step(pathway, eid, "record_followup", plus(D, 76), "pain=2")  # 14 days before day 90: meets it
    assert {f["milestone"] for f in flag_rows(engine)} == {42, 180, 365}, "day 90 is met before it ever opened"
    with freeze_time(plus(D, 76)):
        version = pathway.json("episode", "show", str(eid))["version"]
    with freeze_time(plus(D, 77)):
        step(pathway, eid, "record_followup", plus(D, 77), "pain=2")
        step(pathway, eid, "discharge", plus(D, 77), "outcome=improved")
    (day42,) = [f for f in flag_rows(engine) if f["milestone"] == 42]
    with engine.connect() as conn:
        event = conn.execute(sa.select(EventRow).where(EventRow.id == day42["resolved_event_id"])).one()
    assert (day42["resolution"], event.trigger, event.seq) == ("moved_on", "discharge", version + 2)


def test_running_twice_opens_nothing_new(pathway: Pathway, engine: sa.Engine) -> None:
    with freeze_time(BUILT):
        for n, state in enumerate(("radiographs_ordered", "mri_ordered", "post_operative")):
            walk(pathway, pathway.open(f"MRN-{n}"), state, D)
    assert sweep(pathway, plus(D, 400)) == {"opened": 6, "resolved": 0, "open": 6}
    before = dump(engine)
    assert sweep(pathway, plus(D, 400)) == {"opened": 0, "resolved": 0, "open": 6}
    assert dump(engine) == before


def test_advance_resolves_the_flag_it_satisfies_in_the_same_transaction(pathway: Pathway, engine: sa.Engine) -> None:
    with freeze_time(BUILT):
        eid = pathway.open()
        walk(pathway, eid, "mri_ordered", D)
    sweep(pathway, plus(D, 30))
    with freeze_time(plus(D, 31)):
        before = dump(engine)
        refused = pathway.advance(eid, "record_mri", plus(D, 31).isoformat(), "ifs_mm=12")
        assert refused.exit_code == 2 and dump(engine) == before, "a refused step changes no flag"
        step(pathway, eid, "record_mri", plus(D, 31), "ifs_mm=12", "qfs_mm=8", "qf_edema=true",
             "qf_fatty_replacement=false")  # fmt: skip
        assert pathway.json("worklist", "--due-within", "30")[0]["kind"] == "workup_decision"
    mri = next(f for f in flag_rows(engine) if f["kind"] == "mri_report")
    with engine.connect() as conn:
        event = conn.execute(sa.select(EventRow).where(EventRow.id == mri["resolved_event_id"])).one()
        episode = conn.execute(sa.select(EpisodeRow)).one()
    assert (mri["resolution"], event.trigger, event.episode_id) == ("satisfied", "record_mri", eid)
    assert mri["resolved_at"] == event.recorded_at
    assert episode.version == episode.event_count == episode.scheduled_seq
    assert sweep(pathway, plus(D, 31)) == {"opened": 0, "resolved": 0, "open": 0}


def test_closing_an_episode_resolves_its_flags_as_moved_on(pathway: Pathway, engine: sa.Engine) -> None:
    with freeze_time(BUILT):
        eid = pathway.open()
        walk(pathway, eid, "radiographs_ordered", D)
    sweep(pathway, plus(D, 20))
    with freeze_time(plus(D, 20)):
        step(pathway, eid, "close", plus(D, 20), "reason=withdrawn")
        assert pathway.json("worklist") == []
    (flag,) = flag_rows(engine)
    assert flag["resolution"] == "moved_on"


def _add_rule_set(engine: sa.Engine, **changes: object) -> None:
    """Rule set 2: rule set 1 with ``changes``, made active (as a rules administrator would)."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with UnitOfWork(engine, write=True) as uow:
        s = uow.session
        s.execute(sa.update(RuleSetRow).where(RuleSetRow.version == 1).values(status="retired"))
        s.add(RuleSetRow(version=2, status="active", created_at=now, activated_at=now, created_by="test", note=""))
        s.flush()
        for rule in s.scalars(sa.select(RuleRow).where(RuleRow.rule_set_version == 1)).all():
            value = changes.get(rule.key, rule.value)
            s.add(RuleRow(rule_set_version=2, key=rule.key, position=rule.position, value=value,
                          value_type=rule.value_type, unit=rule.unit, basis=rule.basis))  # fmt: skip
        uow.commit()


def test_a_rule_set_change_moves_due_dates_only_for_episodes_pinned_to_it(pathway: Pathway, engine: sa.Engine) -> None:
    with freeze_time(BUILT):
        old = pathway.open("MRN-OLD")
        _add_rule_set(engine, mri_report_overdue_days=21)
        new = pathway.open("MRN-NEW")
        for eid in (old, new):
            walk(pathway, eid, "mri_ordered", D)
    assert sweep(pathway, day_before(21))["opened"] == 0
    assert sweep(pathway, plus(D, 21))["opened"] == 1
    with freeze_time(plus(D, 21)):
        assert [r["episode_id"] for r in pathway.json("worklist")] == [new]
    assert sweep(pathway, plus(D, 28))["opened"] == 1
    with freeze_time(plus(D, 28)):
        assert [r["episode_id"] for r in pathway.json("worklist")] == [new, old]


def test_repinning_an_episode_retimes_its_flags(pathway: Pathway, engine: sa.Engine) -> None:
    """Moving an episode to another rule set is an audited event; its flags follow the new rules."""
    with freeze_time(BUILT):
        eid = pathway.open()
        walk(pathway, eid, "mri_ordered", D)
    _add_rule_set(engine, mri_report_overdue_days=42)
    sweep(pathway, plus(D, 30))
    with UnitOfWork(engine, write=True) as uow:
        episode = repo.get_episode(uow.session, eid)
        episode.rules_version = 2
        repo.append_event(uow.session, episode, trigger="migrate_rules", from_state=episode.state,
                          to_state=episode.state, fields={"from_version": 1, "to_version": 2},
                          occurred_on=plus(D, 30), recorded_at=datetime(2026, 4, 1, tzinfo=UTC),
                          actor="test", role=None)  # fmt: skip
        uow.commit()
    (flag,) = flag_rows(engine)
    assert (flag["overdue_on"], flag["opened_at"], flag["resolved_at"]) == (plus(D, 42), None, None)
    assert sweep(pathway, plus(D, 41))["opened"] == 0
    assert sweep(pathway, plus(D, 42)) == {"opened": 1, "resolved": 0, "open": 1}


def test_episodes_from_before_flags_existed_are_scheduled_by_the_job(pathway: Pathway, engine: sa.Engine) -> None:
    with freeze_time(BUILT):
        for n, state in enumerate(("radiographs_ordered", "conservative_care", "post_operative", "diagnosed")):
            walk(pathway, pathway.open(f"MRN-{n}"), state, D)
    with engine.begin() as conn:  # as the upgrade that introduced flags leaves them
        conn.execute(sa.delete(FlagRow))
        conn.execute(sa.update(EpisodeRow).values(scheduled_seq=None))
    assert sweep(pathway, plus(D, 100)) == {"opened": 5, "resolved": 0, "open": 5}
    assert sorted(f["kind"] for f in flag_rows(engine) if f["opened_at"]) == [
        "postop_followup", "postop_followup", "radiograph_report", "reassessment", "workup_decision",
    ]  # fmt: skip
    with engine.connect() as conn:
        episodes = conn.execute(sa.select(EpisodeRow)).all()
    assert all(e.version == e.event_count == e.scheduled_seq for e in episodes), "scheduling is not an event"


@freeze_time("2026-03-01 20:00:00")
def test_now_without_a_zone_is_site_time(pathway: Pathway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATHWAY_TIMEZONE", "Pacific/Auckland")  # UTC+13 in March
    eid = pathway.open(referred_on="2026-02-01")
    walk(pathway, eid, "radiographs_ordered", date(2026, 2, 15))  # overdue from 1 March
    assert sweep(pathway, "2026-02-28T23:30")["opened"] == 0
    assert sweep(pathway, "2026-02-28T11:30:00+00:00")["opened"] == 1, "already 1 March in Auckland"


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "2026-03-01T25:00", ""])
def test_a_bad_now_exits_2_and_changes_nothing(pathway: Pathway, engine: sa.Engine, bad: str) -> None:
    with freeze_time(BUILT):
        walk(pathway, pathway.open(), "radiographs_ordered", D)
    before = dump(engine)
    result = pathway("jobs", "flag-overdue", "--now", bad)
    assert result.exit_code == 2 and "ISO 8601" in result.stderr and result.stdout == ""
    assert dump(engine) == before


@contextlib.contextmanager
def _read_only_url(engine: sa.Engine) -> Iterator[str]:
    """A URL to the same database through which pathway may read but not write."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite:///file:{engine.url.database}?mode=ro&uri=true"
        return
    with engine.begin() as conn:
        conn.execute(sa.text("DROP ROLE IF EXISTS pathway_reader"))
        conn.execute(sa.text("CREATE ROLE pathway_reader LOGIN"))
        conn.execute(sa.text("GRANT SELECT ON ALL TABLES IN SCHEMA public TO pathway_reader"))
    try:
        yield engine.url.set(username="pathway_reader").render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP OWNED BY pathway_reader"))
            conn.execute(sa.text("DROP ROLE pathway_reader"))


def test_a_failure_exits_non_zero_with_one_line_and_opens_nothing(pathway: Pathway, engine: sa.Engine) -> None:
    """The job cannot write (a read-only replica, a missing grant): cron must hear of it."""
    with freeze_time(BUILT):
        walk(pathway, pathway.open(), "radiographs_ordered", D)
    before = dump(engine)
    with _read_only_url(engine) as url:
        result = Pathway(url)("jobs", "flag-overdue", "--now", plus(D, 20).isoformat())
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("flag-overdue failed and opened nothing: ")
    assert "readonly" in line or "permission denied" in line
    assert dump(engine) == before


def test_no_flags_means_an_empty_worklist(pathway: Pathway) -> None:
    assert pathway.ok("worklist").stdout.strip() == "Nothing due."
    assert pathway.json("worklist") == []
