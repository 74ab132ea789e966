"""One definition of the timers: the quality report's overdue flags are the job's.

The scheduled job opens flags from `pathway.domain.timers`; the quality report derives
overdue flags in SQL from the events (`pathway.reports.flags`). Here a varied pathway
history is recorded through the CLI, each event on its own day, with the job run every
morning a flag comes due, as cron would. The flags the report counts must then be
exactly the job's flags that reached their overdue day, with the same clinical dates:
episode, kind, anchor, overdue day, the day the awaited event or a move out of the state
ended it, and the days it stayed open. The job also opens flags on their due day
(a reassessment from the window's opening, a post-operative follow-up from its
milestone); those satisfied before their overdue day are not overdue, and the report
does not count them.
"""

from __future__ import annotations

import re
import statistics
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from freezegun import freeze_time

from pathway.db.models import EventRow, FlagRow
from pathway.reports import flags as report_flags
from pathway.reports.quality import Scope
from tests.conftest import Pathway
from tests.flag_helpers import flag_rows, step, sweep

S = date(2025, 1, 6)  # day 0
END = 720  # the day the report is read
MRI = ("ifs_mm=12", "qfs_mm=8", "qf_edema=true", "qf_fatty_replacement=false")
INJECT = ("guidance=ultrasound", "agent=corticosteroid_anaesthetic")
RESPONSE = ("pain_before=8", "pain_after=2", "relief=temporary")
SURGERY = ("approach=endoscopic", "sciatic_neurolysis=false")
# Rule set 2: every timer different from rule set 1.
V2 = {
    "radiograph_report_overdue_days": "7", "mri_report_overdue_days": "21", "workup_decision_overdue_days": "10",
    "injection_response_overdue_days": "21", "reassessment_window_open_days": "60",
    "reassessment_window_close_days": "120", "surgery_scheduling_overdue_days": "30", "followup_grace_days": "7",
    "postop_followup_days": "[30, 90]",
}  # fmt: skip


def day(n: int) -> date:
    return S + timedelta(days=n)


def planned(n: int) -> str:
    return f"planned_on={day(n).isoformat()}"


# (day, episode, trigger, fields); the comments give the flags under each episode's rules.
SCRIPT: list[tuple[Any, ...]] = [
    # A, rule set 1: every kind, a reassessment restarted by `improved`, post-operative milestones
    # met within the grace (42, 180), and one missed (90) with a late follow-up that does not meet it.
    (0, "A", "open"),
    (1, "A", "order_radiographs"),  # radiograph_report overdue on day 15
    (20, "A", "record_radiographs", "result=negative"),  # open 5 days; work-up decision overdue on 34
    (21, "A", "order_mri"),  # mri_report overdue on 49
    (60, "A", "record_mri", *MRI),  # open 11 days; work-up decision overdue on 74
    (80, "A", "confirm_diagnosis"),  # open 6 days
    (85, "A", "start_conservative", "pain=7", "mhhs=50"),  # reassessment due 175, overdue 265
    (100, "A", "inject", *INJECT),  # injection_response overdue on 128
    (140, "A", "record_injection_response", *RESPONSE),  # open 12 days
    (205, "A", "reassess", "outcome=improved", "pain=5"),  # inside the window; new anchor: due 295, overdue 385
    (400, "A", "reassess", "outcome=persistent", "pain=6"),  # open 15 days
    (401, "A", "refer_to_surgery"),  # surgery_scheduling overdue on 461
    (470, "A", "schedule_surgery", "approach=endoscopic", planned(480)),  # open 9 days; surgery_record overdue 494
    (500, "A", "record_surgery", *SURGERY),  # open 6 days; milestones due 542, 590, 680, 865
    (545, "A", "record_followup", "pain=3"),  # meets day 42 (3 days late, within 14)
    (640, "A", "record_followup", "pain=3"),  # meets nothing: day 90 was due on 590, overdue since 604
    (680, "A", "record_followup", "pain=2"),  # meets day 180 on the day
    (700, "A", "discharge", "outcome=improved", "pain=2", "mhhs=80"),  # day 90 flag ends: open 96 days
    # B: closed while its MRI report is overdue.
    (10, "B", "open"),
    (10, "B", "order_mri"),  # overdue on 38
    (50, "B", "close", "reason=withdrawn"),  # open 12 days
    # C: back to conservative care from a surgical referral; its reassessment is still open at the end.
    (5, "C", "open"),
    (6, "C", "order_radiographs"),
    (10, "C", "record_radiographs", "result=negative"),
    (11, "C", "order_mri"),
    (30, "C", "record_mri", *MRI),
    (32, "C", "confirm_diagnosis"),
    (40, "C", "start_conservative"),
    (60, "C", "inject", *INJECT),
    (70, "C", "record_injection_response", *RESPONSE),
    (140, "C", "reassess", "outcome=persistent", "pain=6"),
    (150, "C", "refer_to_surgery"),  # surgery_scheduling would be overdue on 210
    (180, "C", "return_to_conservative", "reason=patient declines surgery"),  # reassessment overdue on 360
    # D: a whole work-up on one day; its decision is overdue and still open at the end.
    (2, "D", "open"),  # referred early, under rule set 1; no timer while referred
    (605, "D", "order_radiographs"),
    (605, "D", "record_radiographs", "result=negative"),
    (605, "D", "order_mri"),
    (605, "D", "record_mri", *MRI),
    (605, "D", "confirm_diagnosis"),  # overdue on 619
    # E: an injection response overdue and still open at the end.
    (3, "E", "open"),
    (622, "E", "order_mri"),
    (630, "E", "record_mri", *MRI),
    (631, "E", "confirm_diagnosis"),
    (632, "E", "start_conservative"),
    (650, "E", "inject", *INJECT),  # overdue on 678
    # G: a surgical referral waiting for a date at the end.
    (4, "G", "open"),
    (451, "G", "order_mri"),  # overdue on 479
    (479, "G", "record_mri", *MRI),  # on its overdue day: overdue, open 0 days
    (480, "G", "confirm_diagnosis"),
    (484, "G", "start_conservative"),
    (490, "G", "inject", *INJECT),
    (495, "G", "record_injection_response", *RESPONSE),
    (575, "G", "reassess", "outcome=persistent", "pain=6"),
    (600, "G", "refer_to_surgery"),  # surgery_scheduling overdue on 660
    # H: opened under rule set 1 and moved to rule set 2 on day 40: a wait that ended before the
    # move keeps rule set 1's timing, one that spans it takes rule set 2's.
    (7, "H", "open"),
    (8, "H", "order_mri"),  # v1: overdue on 36
    (33, "H", "record_mri", *MRI),  # 25 days: not overdue under v1 (v2's 21 days would say it was)
    (34, "H", "confirm_diagnosis"),  # work-up decision overdue on 48 (v1)
    (40, "H", "move to rule set 2"),  # ... re-timed to 44 (v2: 10 days)
    (46, "H", "start_conservative"),  # open 2 days
    (47, "H", "close", "reason=lost_to_follow_up"),
    # F, rule set 2 (activated on day 25; the episodes above were opened before and stay on 1).
    (25, None, "activate rule set 2"),
    (30, "F", "open"),
    (31, "F", "order_radiographs"),  # overdue on 38 (v2: 7 days; not overdue at all under v1's 14)
    (40, "F", "record_radiographs", "result=negative"),  # open 2 days
    (41, "F", "order_mri"),  # overdue on 62
    (55, "F", "record_mri", *MRI),
    (66, "F", "confirm_diagnosis"),  # work-up decision overdue on 65 (v2: 10 days); open 1 day
    (70, "F", "start_conservative"),  # reassessment due 130, overdue 190 (v2)
    (100, "F", "inject", *INJECT),  # overdue on 121 (v2)
    (125, "F", "record_injection_response", *RESPONSE),  # open 4 days
    (200, "F", "reassess", "outcome=persistent", "pain=6"),  # open 10 days
    (205, "F", "refer_to_surgery"),  # surgery_scheduling overdue on 235 (v2)
    (230, "F", "schedule_surgery", "approach=endoscopic", planned(240)),  # surgery_record overdue 247 (v2 grace 7)
    (250, "F", "record_surgery", *SURGERY),  # open 3 days; milestones 30, 90: due 280, 340
    (286, "F", "record_followup", "pain=3"),  # meets day 30 (6 days late, within 7)
    (400, "F", "record_followup", "pain=3"),  # too late for day 90 (overdue since 347): still open at the end
]


def _activate_rule_set_2(pathway: Pathway, tmp_path: Path) -> None:
    text = pathway.ok("rules", "export", "1").stdout
    for key, value in V2.items():
        text, n = re.subn(rf"(?m)^(\[{key}\]\nvalue = )(\[[^\]]*\]|.*$)", lambda m, v=value: m.group(1) + v, text)
        assert n == 1, key
    (tmp_path / "v2.toml").write_text(text)
    pathway.ok("rules", "new", "--from", str(tmp_path / "v2.toml"), "--note", "other timings")
    pathway.ok("rules", "activate", "2")


def _catch_up(pathway: Pathway, engine: sa.Engine, until: date) -> None:
    """Run the job on the morning of every day a flag comes due, up to ``until``."""
    f = FlagRow.__table__
    while True:
        with engine.connect() as conn:
            due = conn.scalar(
                sa.select(sa.func.min(f.c.due_on)).where(f.c.opened_at.is_(None), f.c.resolved_at.is_(None))
            )
        if due is None or due > until:
            return
        assert sweep(pathway, f"{due.isoformat()}T06:00:00")["opened"] > 0


def _record(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> dict[str, int]:
    ids: dict[str, int] = {}
    for n, label, trigger, *fields in sorted(SCRIPT, key=lambda action: action[0]):
        _catch_up(pathway, engine, day(n))
        with freeze_time(f"{day(n).isoformat()} 12:00:00"):
            if trigger == "activate rule set 2":
                _activate_rule_set_2(pathway, tmp_path)
            elif trigger == "move to rule set 2":
                pathway.ok("rules", "migrate", "--to", "2", "--episode", str(ids[label]))
            elif trigger == "open":
                ids[label] = pathway.open(f"MRN-{label}", "left", day(n).isoformat())
            else:
                step(pathway, ids[label], trigger, day(n), *fields)
    _catch_up(pathway, engine, day(END))
    return ids


def _job_overdue(engine: sa.Engine, since: date | None, until: date | None, as_of: date) -> list[tuple[Any, ...]]:
    """The job's flags that reached their overdue day in the period, as the report lists them:
    (episode, kind, anchor, overdue day, end or None while open at ``as_of``, days open, still open)."""
    f, e = FlagRow.__table__, EventRow.__table__
    query = sa.select(f, e.c.occurred_on.label("ended_on")).outerjoin(e, e.c.id == f.c.resolved_event_id)
    found = []
    with engine.connect() as conn:
        for r in conn.execute(query):
            if r.overdue_on > as_of or (since and r.overdue_on < since) or (until and r.overdue_on > until):
                continue
            assert r.opened_at is not None, "the job ran on every due day"
            if r.ended_on is not None and r.ended_on < r.overdue_on:
                continue  # satisfied, or moved on, before it was overdue
            still_open = r.ended_on is None or r.ended_on > as_of
            end = None if still_open else r.ended_on
            days_open = ((as_of if still_open else r.ended_on) - r.overdue_on).days
            found.append((r.episode_id, r.kind, r.anchor_on, r.overdue_on, end, days_open, int(still_open)))
    return sorted(found)


def _report_overdue(engine: sa.Engine, since: date | None, until: date | None, as_of: date) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = report_flags.overdue_list(conn, Scope(since, until, as_of, engine.dialect.name))
    return sorted((r.episode_id, r.kind, r.anchor, r.overdue_on, r.ended_on, r.x, r.still_open) for r in rows)


def _figures(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The report's "overdue_flags" section, computed from listed flags."""

    def median(values: list[int]) -> float | None:
        return round(float(statistics.median(values)), 2) if values else None

    by_kind = {}
    for kind in report_flags.KINDS:
        mine = [r for r in rows if r[1] == kind]
        by_kind[kind] = {"opened": len(mine), "still_open": sum(r[6] for r in mine),
                         "median_days_open": median([r[5] for r in mine])}  # fmt: skip
    return {"opened": len(rows), "median_days_open": median([r[5] for r in rows]), "by_kind": by_kind}


def test_the_report_counts_exactly_the_flags_the_job_opened(
    pathway: Pathway, engine: sa.Engine, tmp_path: Path
) -> None:
    ids = _record(pathway, engine, tmp_path)
    flags = flag_rows(engine)
    assert all(f["opened_at"].date() == f["due_on"] for f in flags if f["opened_at"]), "opened on its due day"

    job = _job_overdue(engine, None, None, day(END))
    assert _report_overdue(engine, None, None, day(END)) == job
    assert {r[1] for r in job} == set(report_flags.KINDS), "every kind of flag went overdue somewhere"
    with freeze_time(f"{day(END).isoformat()} 12:00:00"):
        assert pathway.json("report", "quality")["overdue_flags"] == _figures(job)

    # A few of them, spelled out: the missed 90-day follow-up stays open until discharge
    # (a later follow-up outside the grace does not meet it), rule set 2's timings apply to F.
    a, f = ids["A"], ids["F"]
    assert (a, "postop_followup", day(500), day(604), day(700), 96, 0) in job
    assert (f, "postop_followup", day(250), day(347), None, END - 347, 1) in job
    assert (f, "radiograph_report", day(31), day(38), day(40), 2, 0) in job
    assert (ids["G"], "mri_report", day(451), day(479), day(479), 0, 0) in job
    assert [r[1:] for r in job if r[0] == ids["H"]] == [("workup_decision", day(34), day(44), day(46), 2, 0)]
    assert [r for r in job if r[0] == a and r[1] == "reassessment"] == [(a, "reassessment", day(205), day(385),
                                                                           day(400), 15, 0)]  # fmt: skip
    opened_not_overdue = [(f["kind"], f["anchor_on"]) for f in flags
                          if f["episode_id"] == a and f["kind"] == "reassessment"]  # fmt: skip
    assert sorted(opened_not_overdue) == [("reassessment", day(85)), ("reassessment", day(205))]

    # A past period: flags overdue in it, open at its end if their wait ended after it.
    since, until = day(100), day(450)
    job = _job_overdue(engine, since, until, until)
    assert _report_overdue(engine, since, until, until) == job
    assert any(r[6] for r in job), "some flags were still open at the period's end"
    with freeze_time(f"{day(END).isoformat()} 12:00:00"):
        report = pathway.json("report", "quality", "--since", since.isoformat(), "--until", until.isoformat())
    assert report["overdue_flags"] == _figures(job)
