"""`pathway report quality` on a hand-built data set whose every figure was worked out by hand.

Six episodes; one (E4) is pinned to a rule set v2 with shorter intervals and a lower
diagnostic threshold, so that figures computed with constants would come out wrong.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from tests.conftest import Pathway
from tests.html_check import duplicate_ids, vnu_messages

TODAY = "2027-03-01 12:00:00"
MRI_OK = ("ifs_mm=12", "qfs_mm=8", "qf_edema=true", "qf_fatty_replacement=false")
V2 = {"conservative_min_days": 60, "reassessment_window_open_days": 60, "reassessment_window_close_days": 120,
      "diagnostic_relief_min_pct": 30}  # fmt: skip


def _activate(engine: sa.Engine, version: int) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE rule_sets SET status = 'retired' WHERE status = 'active'"))
        conn.execute(sa.text("UPDATE rule_sets SET status = 'active' WHERE version = :v"), {"v": version})


def _add_rule_set_2(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO rule_sets (version, status, created_at, created_by, note) "
                             "SELECT 2, 'draft', created_at, 'tester', 'shorter intervals' FROM rule_sets "
                             "WHERE version = 1"))  # fmt: skip
        conn.execute(sa.text("INSERT INTO rules (rule_set_version, key, position, value, value_type, unit, basis) "
                             "SELECT 2, key, position, value, value_type, unit, basis FROM rules "
                             "WHERE rule_set_version = 1"))  # fmt: skip
        for key, value in V2.items():
            conn.execute(sa.text("UPDATE rules SET value = :value WHERE rule_set_version = 2 AND key = :key")
                         .bindparams(sa.bindparam("value", type_=sa.JSON)), {"value": value, "key": key})  # fmt: skip


def steps(pathway: Pathway, eid: int, *items: tuple[Any, ...]) -> None:
    for trigger, on, *rest in items:
        override = [r for r in rest if isinstance(r, dict)]
        sets = [r for r in rest if isinstance(r, str)]
        extra = ("--override", override[0]["override"]) if override else ()
        result = pathway.advance(eid, trigger, on, *sets, extra=extra)
        assert result.exit_code == 0, (eid, trigger, result.output)


def build(pathway: Pathway, engine: sa.Engine) -> None:
    with freeze_time(TODAY):
        e1 = pathway.open("MRN-1", "left", "2026-01-05")
        steps(pathway, e1,
              ("order_radiographs", "2026-01-06"), ("record_radiographs", "2026-01-10", "result=negative"),
              ("order_mri", "2026-01-11"), ("record_mri", "2026-01-20", *MRI_OK), ("confirm_diagnosis", "2026-01-25"),
              ("start_conservative", "2026-02-01", "pain=8", "mhhs=50"),
              ("inject", "2026-02-10", "guidance=ultrasound", "agent=corticosteroid_anaesthetic"),
              ("record_injection_response", "2026-02-11", "pain_before=8", "pain_after=2", "relief=temporary"),
              ("reassess", "2026-05-05", "outcome=persistent", "pain=7"), ("refer_to_surgery", "2026-05-10"),
              ("schedule_surgery", "2026-05-20", "approach=endoscopic", "planned_on=2026-06-15"),
              ("record_surgery", "2026-06-15", "approach=endoscopic", "sciatic_neurolysis=false"),
              ("record_followup", "2026-07-27", "pain=3"),
              ("discharge", "2026-09-01", "outcome=improved", "pain=2", "mhhs=80"))  # fmt: skip
        e2 = pathway.open("MRN-2", "right", "2026-02-01")
        steps(pathway, e2,
              ("order_mri", "2026-02-02", {"override": "radiographs taken elsewhere"}),
              ("record_mri", "2026-03-20", "ifs_mm=20", "qfs_mm=15", "qf_edema=false", "qf_fatty_replacement=false"),
              ("close", "2026-04-01", "reason=alternative_diagnosis",
               "diagnosis=greater_trochanteric_bursitis"))  # fmt: skip
        e3 = pathway.open("MRN-3", "left", "2026-01-10")
        steps(pathway, e3,
              ("order_radiographs", "2026-01-11"), ("record_radiographs", "2026-01-12", "result=negative"),
              ("order_mri", "2026-01-12"), ("record_mri", "2026-01-20", *MRI_OK), ("confirm_diagnosis", "2026-02-09"),
              ("start_conservative", "2026-02-10", "pain=6", "mhhs=60"),
              ("inject", "2026-02-20", "guidance=ct", "agent=corticosteroid_anaesthetic", {"override": "CT only"}),
              ("record_injection_response", "2026-02-21", "pain_before=6", "pain_after=4", "relief=none"),
              ("reassess", "2026-08-20", "outcome=persistent", "pain=6"),
              ("discharge", "2026-09-01", "outcome=persistent", "pain=5", "mhhs=65"))  # fmt: skip
        _add_rule_set_2(engine)
        _activate(engine, 2)
        e4 = pathway.open("MRN-4", "right", "2026-03-01")
        _activate(engine, 1)
        steps(pathway, e4,
              ("order_radiographs", "2026-03-02"), ("record_radiographs", "2026-03-05", "result=negative"),
              ("order_mri", "2026-03-05"), ("record_mri", "2026-03-10", *MRI_OK), ("confirm_diagnosis", "2026-03-12"),
              ("start_conservative", "2026-03-15", "pain=9", "mhhs=40"),
              ("inject", "2026-03-20", "guidance=ultrasound", "agent=corticosteroid_anaesthetic"),
              ("record_injection_response", "2026-03-21", "pain_before=9", "pain_after=6", "relief=temporary"),
              ("reassess", "2026-05-20", "outcome=persistent", "pain=8"), ("refer_to_surgery", "2026-05-25"),
              ("schedule_surgery", "2026-06-01", "approach=open", "open_indication=severe", "planned_on=2026-06-20"),
              ("record_surgery", "2026-07-10", "approach=open", "sciatic_neurolysis=true"))  # fmt: skip
        e5 = pathway.open("MRN-5", "left", "2026-04-01")
        steps(pathway, e5,
              ("order_radiographs", "2026-04-02"), ("record_radiographs", "2026-04-03", "result=negative"),
              ("order_mri", "2026-04-03"), ("record_mri", "2026-04-10", *MRI_OK), ("confirm_diagnosis", "2026-04-12"),
              ("start_conservative", "2026-04-15"),
              ("refer_to_surgery", "2026-05-15", {"override": "severe pain"}))  # fmt: skip
        pathway.open("MRN-6", "right", "2026-12-01")


def report(pathway: Pathway, *args: str) -> dict[str, Any]:
    with freeze_time(TODAY):
        return pathway.json("report", "quality", *args)


def test_every_figure_over_the_whole_record(pathway: Pathway, engine: sa.Engine) -> None:
    build(pathway, engine)
    r = report(pathway)
    assert r["period"] == {"since": None, "until": None, "as_of": "2027-03-01"}
    assert r["rules_versions"] == [1, 2]
    states = {k: v for k, v in r["episodes_opened"]["by_current_state"].items() if v}
    assert r["episodes_opened"]["total"] == 6
    assert states == {"discharged": 2, "closed": 1, "post_operative": 1, "surgical_referral": 1, "referred": 1}
    assert r["mri_without_radiograph_report"] == {"mri_orders": 5, "without_radiograph_report": 1, "share": 0.2}
    assert r["days_referral_to_diagnosis"] == {"n": 4, "median": 15.5}  # 11, 11, 20, 30
    assert r["days_diagnosis_to_first_reassessment"] == {"n": 3, "median": 100.0}  # 69, 100, 192
    # E1 93 days in [90, 180); E4 66 days in v2's [60, 120); E3 191 days, late.
    assert r["first_reassessment_in_window"] == {"n": 3, "before_window": 0, "inside_window": 2, "after_window": 1,
                                                 "share_inside": 0.6667}  # fmt: skip
    flags = r["overdue_flags"]
    assert (flags["opened"], flags["median_days_open"]) == (8, 29.0)  # 6, 6, 11, 18 | 40, 130, 178, 230
    opened = {k: v for k, v in flags["by_kind"].items() if v["opened"]}
    assert opened == {
        "mri_report": {"opened": 1, "still_open": 0, "median_days_open": 18.0},
        "workup_decision": {"opened": 1, "still_open": 0, "median_days_open": 6.0},
        "reassessment": {"opened": 1, "still_open": 0, "median_days_open": 11.0},
        "surgery_record": {"opened": 1, "still_open": 0, "median_days_open": 6.0},
        "postop_followup": {"opened": 3, "still_open": 3, "median_days_open": 130.0},
        "surgery_scheduling": {"opened": 1, "still_open": 1, "median_days_open": 230.0},
    }
    # E1 75 % (>= 50, v1), E4 33.3 % (>= 30, v2) positive; E3 33.3 % (< 50, v1) not.
    assert r["injections"] == {
        "responses": 3, "diagnostic_measured": 3, "diagnostic_positive": 2, "diagnostic_positive_share": 0.6667,
        "relief": {"none": 1, "temporary": 2, "sustained": 0},
        "relief_share": {"none": 0.3333, "temporary": 0.6667, "sustained": 0.0},
    }  # fmt: skip
    # E1 after 98 days (v1: 90), E4 after 71 days (v2: 60), E5 after 30 days (v1: early).
    assert r["early_surgical_referrals"] == {"referrals": 3, "before_conservative_min_days": 1, "share": 0.3333}
    assert r["overrides_by_guard"] == {"events_with_override": 3, "by_guard": {
        "conservative_min_days": 1, "injection_guidance_allowed": 1, "latest_reassessment_persistent": 1,
        "radiographs_first": 1, "surgery_requires_injection": 1, "surgery_requires_positive_diagnostic_injection": 1,
    }}  # fmt: skip
    assert r["surgical_approach"] == {"operations": 2, "endoscopic": 1, "open": 1, "endoscopic_share": 0.5,
                                      "open_share": 0.5}  # fmt: skip
    # E1: pain 8 -> 2, mHHS 50 -> 80; E3: pain 6 -> 5, mHHS 60 -> 65.
    assert r["outcomes"] == {
        "pain": {"n": 2, "median_change": -3.5, "mcid_reached": 1, "mcid_share": 0.5},
        "mhhs": {"n": 2, "median_change": 17.5, "mcid_reached": 1, "mcid_share": 0.5},
    }
    assert r["thresholds"]["mhhs_mcid_points"] == 9.0
    lenient = report(pathway, "--mhhs-mcid", "4")
    assert lenient["outcomes"]["mhhs"]["mcid_reached"] == 2 and lenient["thresholds"]["mhhs_mcid_points"] == 4.0


def test_figures_over_a_period(pathway: Pathway, engine: sa.Engine) -> None:
    build(pathway, engine)
    r = report(pathway, "--since", "2026-05-01", "--until", "2026-08-31")
    assert r["period"]["as_of"] == "2026-08-31"
    assert r["episodes_opened"]["total"] == 0
    assert r["mri_without_radiograph_report"] == {"mri_orders": 0, "without_radiograph_report": 0, "share": None}
    assert r["days_diagnosis_to_first_reassessment"] == {"n": 3, "median": 100.0}  # E1 100, E4 69, E3 192
    assert r["first_reassessment_in_window"]["after_window"] == 1
    flags = r["overdue_flags"]
    assert {k: v for k, v in flags["by_kind"].items() if v["opened"]} == {
        "reassessment": {"opened": 1, "still_open": 0, "median_days_open": 11.0},
        "surgery_record": {"opened": 1, "still_open": 0, "median_days_open": 6.0},
        "surgery_scheduling": {"opened": 1, "still_open": 1, "median_days_open": 48.0},  # open at the period's end
    }
    assert r["injections"]["responses"] == 0 and r["injections"]["diagnostic_positive_share"] is None
    assert r["early_surgical_referrals"]["before_conservative_min_days"] == 1
    assert r["overrides_by_guard"]["events_with_override"] == 1
    assert r["surgical_approach"]["operations"] == 2
    assert r["outcomes"]["pain"]["n"] == 0


def test_csv_text_and_html_carry_the_same_figures(pathway: Pathway, engine: sa.Engine, tmp_path: Any) -> None:
    build(pathway, engine)
    with freeze_time(TODAY):
        table = list(csv.DictReader(io.StringIO(pathway.ok("report", "quality", "--format", "csv").stdout)))
        text = pathway.ok("report", "quality").stdout
        out = tmp_path / "quality.html"
        pathway.ok("report", "quality", "--format", "html", "--out", str(out))
    figures = {(row["section"], row["figure"]): row["value"] for row in table}
    assert figures[("days_referral_to_diagnosis", "median")] == "15.5"
    assert figures[("overrides_by_guard", "by_guard.radiographs_first")] == "1"
    assert figures[("outcomes", "mhhs.mcid_share")] == "0.5"
    assert "Days from referral to diagnosis" in text and "66.7 %" in text
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count('src="data:image/svg+xml;base64,') == 5
    assert not re.search(r"src=\"(?!data:)", page) and "<script" not in page  # self-contained: nothing to fetch
    assert "MRN" not in page
    assert "Days to the first reassessment" in page and "66.7 %" in page


def charts(page: str) -> list[str]:
    return [base64.b64decode(b).decode() for b in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)]


def test_the_html_report_is_valid_html(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> None:
    """Checked by the Nu HTML Checker, the validator the issue was found with."""
    build(pathway, engine)
    out = tmp_path / "quality.html"
    with freeze_time(TODAY):
        pathway.ok("report", "quality", "--format", "html", "--out", str(out))
    page = out.read_text()
    assert duplicate_ids(page) == []
    assert vnu_messages(out) == []
    for chart in charts(page):
        assert "<metadata" not in chart and "rdf:RDF" not in chart


def test_the_report_reads_as_a_reviewer_expects(pathway: Pathway, engine: sa.Engine, tmp_path: Path) -> None:
    build(pathway, engine)
    out = tmp_path / "quality.html"
    with freeze_time(TODAY):
        text = pathway.ok("report", "quality").stdout
        pathway.ok("report", "quality", "--format", "html", "--out", str(out))
        quarterly = report(pathway, "--trend", "quarter")
    # One convention: every share a person reads is a percentage; none is a bare fraction.
    assert "Share inside the window" in text and "66.7 %" in text and "0.6667" not in text
    assert not re.search(r"\b0\.\d{3,}", text)
    # Human labels, no code names.
    assert "By kind of flag: MRI report: median days open" in text
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text.split("Trend by")[0].replace("mhhs_mcid", ""))
    page = out.read_text()
    assert "by kind.radiograph report" not in page and "By guard: radiographs first" in page
    svgs = charts(page)
    assert len(svgs) == 5
    states, reassessment, _, overrides, trend = svgs
    # The window shadings are labelled by the rule versions they belong to (v1 90-180, v2 60-120).
    assert "rules v1: window 90-180 days" in reassessment_alt(page)
    assert "rules v2: window 60-120 days" in reassessment_alt(page)
    # Charts name things as people do (text is drawn as paths, so look at the alt text).
    assert "surgical referral" in alt_texts(page)[0] and "surgical_referral" not in alt_texts(page)[0]
    # The trend: every month from the first event to the last, and quarters on request.
    months = [p["period"] for p in report(pathway)["trend"]["periods"]]
    assert months[0] == "2026-01" and months[-1] == "2026-12" and len(months) == 12
    assert [p["period"] for p in quarterly["trend"]["periods"]] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    q2 = quarterly["trend"]["periods"][1]
    assert q2["early_surgical_referrals"] == {"n": 3, "hits": 1, "share": 0.3333}  # E1, E4, E5 (early)
    assert q2["first_reassessment_in_window"] == {"n": 2, "hits": 2, "share": 1.0}  # E1, E4


def alt_texts(page: str) -> list[str]:
    return re.findall(r'<img alt="([^"]*)"', page)


def reassessment_alt(page: str) -> str:
    return alt_texts(page)[1]


def test_count_axes_have_whole_number_ticks() -> None:
    """A chart of 1 or 2 episodes must not show ticks at 0.25 episodes."""
    import matplotlib.pyplot as plt

    from pathway.reports import html

    seen: list[tuple[list[float], list[float]]] = []
    real_close = plt.close

    def close(fig: Any) -> None:
        for ax in fig.axes:
            seen.append((list(ax.get_xticks()), list(ax.get_yticks())))
        real_close(fig)

    plt.close = close  # type: ignore[assignment]
    try:
        html.states_chart({"episodes_opened": {"by_current_state": {"referred": 1, "diagnosed": 2}}})
        html.overrides_chart({"overrides_by_guard": {"by_guard": {"radiographs_first": 1}}})
        html.reassessment_chart({"series": {"reassessment_days": [
            {"days": 93, "opens": 90, "closes": 180, "rules_version": 1}]}})  # fmt: skip
    finally:
        plt.close = real_close  # type: ignore[assignment]
    (states_x, _), (overrides_x, _), (_, reassessments_y) = seen
    for counts in (states_x, overrides_x, reassessments_y):
        assert counts and all(float(t).is_integer() for t in counts), counts


@pytest.mark.parametrize(("args", "message"), [
    (("--since", "2026-06-01", "--until", "2026-05-01"), "swap them"),
    (("--until", "yesterday"), "YYYY-MM-DD"),
])  # fmt: skip
def test_bad_report_options_are_exit_2(pathway: Pathway, args: tuple[str, ...], message: str) -> None:
    result = pathway("report", "quality", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_an_empty_database_reports_zeros_not_errors(pathway: Pathway) -> None:
    r = report(pathway)
    assert r["episodes_opened"]["total"] == 0 and r["outcomes"]["pain"]["median_change"] is None
    assert json.dumps(r)


def test_every_way_into_discharged_counts_at_discharge(pathway: Pathway, engine: sa.Engine) -> None:
    """A reassessment with outcome resolved discharges the episode: its outcome figures count too."""
    build(pathway, engine)
    with freeze_time(TODAY):
        e7 = pathway.open("MRN-7", "left", "2026-01-05")
        steps(pathway, e7,
              ("order_radiographs", "2026-01-06"), ("record_radiographs", "2026-01-10", "result=negative"),
              ("order_mri", "2026-01-11"), ("record_mri", "2026-01-20", *MRI_OK), ("confirm_diagnosis", "2026-01-25"),
              ("start_conservative", "2026-02-01", "pain=6", "mhhs=50"),
              ("reassess", "2026-05-05", "outcome=resolved", "pain=1", "mhhs=90"))  # fmt: skip
    r = report(pathway)
    assert r["episodes_opened"]["by_current_state"]["discharged"] == 3
    # E1 8 -> 2, E3 6 -> 5, E7 6 -> 1 (at the resolving reassessment); mHHS 50 -> 80, 60 -> 65, 50 -> 90.
    assert r["outcomes"] == {
        "pain": {"n": 3, "median_change": -5.0, "mcid_reached": 2, "mcid_share": 0.6667},
        "mhhs": {"n": 3, "median_change": 30.0, "mcid_reached": 2, "mcid_share": 0.6667},
    }


def test_past_events_are_judged_by_the_rules_recorded_on_them(pathway: Pathway, engine: sa.Engine) -> None:
    """Re-pinning episodes to other rules later does not re-judge what was recorded before."""
    build(pathway, engine)
    before = report(pathway)
    strict = {"conservative_min_days": 300, "reassessment_window_open_days": 10, "reassessment_window_close_days": 20,
              "diagnostic_relief_min_pct": 90}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO rule_sets (version, status, created_at, created_by, note) "
                             "SELECT 3, 'retired', created_at, 'tester', 'strict' FROM rule_sets WHERE version = 1"))
        conn.execute(sa.text("INSERT INTO rules (rule_set_version, key, position, value, value_type, unit, basis) "
                             "SELECT 3, key, position, value, value_type, unit, basis FROM rules "
                             "WHERE rule_set_version = 1"))  # fmt: skip
        for key, value in strict.items():
            conn.execute(sa.text("UPDATE rules SET value = :value WHERE rule_set_version = 3 AND key = :key")
                         .bindparams(sa.bindparam("value", type_=sa.JSON)), {"value": value, "key": key})  # fmt: skip
        conn.execute(sa.text("UPDATE episodes SET rules_version = 3"))  # every episode now pinned elsewhere
    after = report(pathway)
    for figure in ("first_reassessment_in_window", "injections", "early_surgical_referrals", "outcomes"):
        assert after[figure] == before[figure], figure
    assert after["rules_versions"] == [1, 2]  # the versions recorded on the events
