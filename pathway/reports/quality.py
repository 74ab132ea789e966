"""The quality-review figures of PATHWAY.md, each one SQL query over the chosen period.

Every threshold comes from the rule set recorded on the event being judged (a correlated
subquery on ``rules`` by the event's ``rules_version``), never from a constant and never
from the episode's current rules: an episode moved to other rules later was judged
under the old ones at the time. "At discharge" means the event that entered
``discharged``, whichever trigger it was (``discharge``, or ``reassess`` resolved). A
figure about an event counts in the period holding the event's clinical date; a figure
about an interval counts in the period where the interval ends (the diagnosis, the
reassessment, the discharge); an overdue flag counts in the period of its overdue day.

Every figure follows the effective history (``db/effective.py``): a voided event does not
count, a corrected one counts as corrected, and a correction made with an override counts
as a deviation in the period it was made; ``corrections`` counts the corrections and
voids themselves.

Overdue flags are derived from the events themselves, by the job's definition (a test
holds the two together): a wait that reached its overdue day without the awaited event
or a move out of the state is an overdue flag, open until that event (or until the end
of the period, for flags still open then), timed by the rules in force when it ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from pathway.db.effective import effective_events
from pathway.db.models import EpisodeRow, EventRow
from pathway.domain.history import CORRECT, CORRECTIONS, VOID
from pathway.domain.states import STATES
from pathway.reports import flags
from pathway.reports.sql import days_between, json_elements, median, rule

E = effective_events()  # the events as they now count
COUNTED = effective_events("counted", corrections=True)  # and the corrections that count, for overrides
RECORDED: sa.Table = EventRow.__table__  # type: ignore[assignment]
EP: sa.Table = EpisodeRow.__table__  # type: ignore[assignment]

PAIN_MCID_POINTS = 2  # PATHWAY.md: a change of 2 points or 33 % on the 0-10 scale
PAIN_MCID_PERCENT = 33
MHHS_MCID_POINTS = 9.0  # the low end of the 9-20 points reported after hip arthroscopy; configurable


@dataclass(frozen=True)
class Scope:
    since: date | None
    until: date | None
    as_of: date  # the end of the period, or today for an open-ended one
    dialect: str
    mhhs_mcid: float = MHHS_MCID_POINTS

    def within(self, column: Any) -> Any:
        conditions = []
        if self.since is not None:
            conditions.append(column >= self.since)
        if self.until is not None:
            conditions.append(column <= self.until)
        return sa.and_(sa.true(), *conditions)


def share(part: int | None, whole: int | None) -> float | None:
    return round(part / whole, 4) if whole and part is not None else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def _field(event: Any, name: str) -> Any:
    return event.c.fields[name]


def _first_of(trigger: str, event: Any) -> Any:
    """``event`` is the first ``trigger`` event of its episode."""
    other = E.alias()
    return event.c.seq == (
        sa.select(sa.func.min(other.c.seq))
        .where(other.c.episode_id == event.c.episode_id, other.c.trigger == trigger)
        .scalar_subquery()
    )


def _date_of(triggers: str | tuple[str, ...], event: Any) -> Any:
    """The date of the episode's latest ``triggers`` event before ``event`` (a correlated subquery)."""
    other = E.alias()
    names = (triggers,) if isinstance(triggers, str) else triggers
    return (
        sa.select(sa.func.max(other.c.occurred_on))
        .where(other.c.episode_id == event.c.episode_id, other.c.trigger.in_(names), other.c.seq < event.c.seq)
        .scalar_subquery()
    )


# -- the figures ---------------------------------------------------------------------


def episodes_opened(conn: sa.Connection, s: Scope) -> dict[str, Any]:
    rows = conn.execute(
        sa.select(EP.c.state, sa.func.count()).where(s.within(EP.c.referred_on)).group_by(EP.c.state)
    ).all()
    by_state = dict.fromkeys(STATES, 0) | {state: n for state, n in rows}
    return {"total": sum(by_state.values()), "by_current_state": by_state}


def _no_radiograph_report_before(e: Any) -> Any:
    r = E.alias("r")
    return ~sa.exists().where(r.c.episode_id == e.c.episode_id, r.c.trigger == "record_radiographs",
                              r.c.seq < e.c.seq)  # fmt: skip


def mri_without_radiograph_report(conn: sa.Connection, s: Scope) -> dict[str, Any]:
    e = E.alias("e")
    orders, without = conn.execute(
        sa.select(sa.func.count(), sa.func.sum(sa.case((_no_radiograph_report_before(e), 1), else_=0))).where(
            e.c.trigger == "order_mri", s.within(e.c.occurred_on)
        )
    ).one()
    without = without or 0
    return {"mri_orders": orders, "without_radiograph_report": without, "share": share(without, orders)}


def _median_days(conn: sa.Connection, days: Any, *where: Any) -> dict[str, Any]:
    values = sa.select(days.label("x")).where(*where).subquery()
    n, middle, _ = conn.execute(median(values)).one()
    return {"n": n, "median": _round(middle)}


def days_referral_to_diagnosis(conn: sa.Connection, s: Scope) -> dict[str, Any]:
    e = E.alias("e")
    joined = e.join(EP, EP.c.id == e.c.episode_id)
    days = days_between(EP.c.referred_on, e.c.occurred_on)
    values = (
        sa.select(days.label("x"))
        .select_from(joined)
        .where(e.c.trigger == "confirm_diagnosis", s.within(e.c.occurred_on), _first_of("confirm_diagnosis", e))
        .subquery()
    )
    n, middle, _ = conn.execute(median(values)).one()
    return {"n": n, "median": _round(middle)}


def days_diagnosis_to_first_reassessment(conn: sa.Connection, s: Scope) -> dict[str, Any]:
    e = E.alias("e")
    days = days_between(_date_of("confirm_diagnosis", e), e.c.occurred_on)
    return _median_days(conn, days, e.c.trigger == "reassess", s.within(e.c.occurred_on), _first_of("reassess", e))


def _first_reassessments(s: Scope) -> sa.Subquery:
    """Each first reassessment in the period: days since its anchor, and the window of the rules it was judged by."""
    e = E.alias("e")
    anchor = _date_of(("start_conservative", "return_to_conservative"), e)
    return (
        sa.select(
            e.c.episode_id,
            e.c.occurred_on,
            days_between(anchor, e.c.occurred_on).label("days"),
            rule("reassessment_window_open_days", e.c.rules_version).label("opens"),
            rule("reassessment_window_close_days", e.c.rules_version).label("closes"),
            e.c.rules_version.label("rules_version"),
        )
        .where(e.c.trigger == "reassess", s.within(e.c.occurred_on), _first_of("reassess", e))
        .subquery()
    )


def first_reassessment_in_window(conn: sa.Connection, s: Scope) -> dict[str, Any]:
    f = _first_reassessments(s)
    n, early, inside, late = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.sum(sa.case((f.c.days < f.c.opens, 1), else_=0)),
            sa.func.sum(sa.case((_inside(f), 1), else_=0)),
            sa.func.sum(sa.case((f.c.days >= f.c.closes, 1), else_=0)),
        )
    ).one()
    return {"n": n, "before_window": early or 0, "inside_window": inside or 0, "after_window": late or 0,
            "share_inside": share(inside or 0, n)}  # fmt: skip


def reassessment_days(conn: sa.Connection, s: Scope) -> list[dict[str, Any]]:
    """Chart data: days from anchor to each first reassessment, with its window and rules version."""
    f = _first_reassessments(s)
    rows = conn.execute(sa.select(f.c.days, f.c.opens, f.c.closes, f.c.rules_version).order_by(f.c.days)).all()
    return [{"days": d, "opens": int(o), "closes": int(c), "rules_version": v} for d, o, c, v in rows]


def _positive(e: Any) -> Any:
    """A diagnostic response at or above the threshold of the rules it was recorded under."""
    return _field(e, "pain_reduction_pct").as_float() >= rule("diagnostic_relief_min_pct", e.c.rules_version)


def injections(conn: sa.Connection, s: Scope) -> dict[str, Any]:
    e = E.alias("e")
    pct = _field(e, "pain_reduction_pct").as_float()
    relief = _field(e, "relief").as_string()
    n, measured, positive, none, temporary, sustained = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.count(pct),
            sa.func.sum(sa.case((_positive(e), 1), else_=0)),
            *(sa.func.sum(sa.case((relief == r, 1), else_=0)) for r in ("none", "temporary", "sustained")),
        ).where(e.c.trigger == "record_injection_response", s.within(e.c.occurred_on))
    ).one()
    counts = {"none": none or 0, "temporary": temporary or 0, "sustained": sustained or 0}
    return {
        "responses": n,
        "diagnostic_measured": measured,
        "diagnostic_positive": positive or 0,
        "diagnostic_positive_share": share(positive or 0, measured),
        "relief": counts,
        "relief_share": {k: share(v, n) for k, v in counts.items()},
    }


def _early(e: Any) -> Any:
    """A surgical referral sooner after the start of conservative care than its rules' minimum."""
    days = days_between(_date_of("start_conservative", e), e.c.occurred_on)
    return sa.func.coalesce(days, -1) < rule("conservative_min_days", e.c.rules_version)


def early_surgical_referrals(conn: sa.Connection, s: Scope) -> dict[str, Any]:
    e = E.alias("e")
    n, early = conn.execute(
        sa.select(sa.func.count(), sa.func.sum(sa.case((_early(e), 1), else_=0))).where(
            e.c.trigger == "refer_to_surgery", s.within(e.c.occurred_on)
        )
    ).one()
    return {"referrals": n, "before_conservative_min_days": early or 0, "share": share(early or 0, n)}


def overrides_by_guard(conn: sa.Connection, s: Scope) -> dict[str, Any]:
    e = COUNTED.alias("e")
    guard = json_elements(s.dialect, e.c.overridden_guards, "guard")
    rows = conn.execute(
        sa.select(guard.c.value, sa.func.count())
        .select_from(e.join(guard, sa.true()))
        .where(s.within(e.c.occurred_on))
        .group_by(guard.c.value)
        .order_by(sa.func.count().desc(), guard.c.value)
    ).all()
    events = conn.execute(
        sa.select(sa.func.count()).where(e.c.override_reason.is_not(None), s.within(e.c.occurred_on))
    ).scalar_one()
    return {"events_with_override": events, "by_guard": {str(g): n for g, n in rows}}


def corrections(conn: sa.Connection, s: Scope) -> dict[str, Any]:
    """Corrections and voids recorded in the period (by the day they were made), by the corrected
    event's trigger and by the corrector's role; voided ones included, since each was made."""
    c, t = RECORDED.alias("c"), RECORDED.alias("t")
    target = sa.and_(t.c.episode_id == c.c.episode_id, t.c.seq == c.c.fields["seq"].as_integer())
    rows = conn.execute(
        sa.select(c.c.trigger, t.c.trigger, c.c.role, sa.func.count())
        .select_from(c.join(t, target))
        .where(c.c.trigger.in_(CORRECTIONS), s.within(c.c.occurred_on))
        .group_by(c.c.trigger, t.c.trigger, c.c.role)
    ).all()
    kinds = {CORRECT: "corrected", VOID: "voided"}
    totals = {"corrected": 0, "voided": 0}
    by_trigger: dict[str, dict[str, int]] = {}
    by_role: dict[str, dict[str, int]] = {}
    for kind, trigger, role, n in rows:
        what = kinds[kind]
        totals[what] += n
        for table, key in ((by_trigger, trigger), (by_role, role or "none")):
            table.setdefault(key, {"corrected": 0, "voided": 0})[what] += n
    return {
        **totals,
        "by_trigger": dict(sorted(by_trigger.items())),
        "by_role": dict(sorted(by_role.items())),
    }


def actors_established(conn: sa.Connection, s: Scope) -> dict[str, int]:
    """Events recorded in the period (clinical date) by how their actor was established: signed in to
    the server with a password, single sign-on or a token, or named at a terminal (claimed)."""
    e = RECORDED.alias("e")
    rows = conn.execute(
        sa.select(e.c.auth, sa.func.count()).where(s.within(e.c.occurred_on)).group_by(e.c.auth)
    ).all()
    counts = {"password": 0, "oidc": 0, "token": 0, "claimed": 0}
    counts.update({str(auth): n for auth, n in rows})
    return counts


def surgical_approach(conn: sa.Connection, s: Scope) -> dict[str, Any]:
    e = E.alias("e")
    approach = _field(e, "approach").as_string()
    rows: dict[Any, int] = dict(
        conn.execute(
            sa.select(approach, sa.func.count())
            .where(e.c.trigger == "record_surgery", s.within(e.c.occurred_on))
            .group_by(approach)
        ).all()
    )
    n = sum(rows.values())
    endoscopic, open_ = rows.get("endoscopic", 0), rows.get("open", 0)
    return {"operations": n, "endoscopic": endoscopic, "open": open_, "endoscopic_share": share(endoscopic, n),
            "open_share": share(open_, n)}  # fmt: skip


def _discharging(event: Any) -> Any:
    """``event`` entered ``discharged`` (by ``discharge``, or by ``reassess`` with outcome resolved)."""
    return sa.and_(event.c.to_state == "discharged", sa.or_(event.c.from_state.is_(None),
                                                           event.c.from_state != "discharged"))  # fmt: skip


def _outcome_pairs(s: Scope, measure: str) -> sa.Subquery:
    """Per discharge in the period (the event that entered ``discharged``): the baseline at
    start_conservative and the final value.

    The final value is the discharge's own, else the latest recorded since the baseline.
    """
    d, b, x = E.alias("d"), E.alias("b"), E.alias("x")
    baseline = (
        sa.select(_field(b, measure).as_float())
        .where(b.c.episode_id == d.c.episode_id, b.c.trigger == "start_conservative")
        .scalar_subquery()
    )
    latest = (
        sa.select(_field(x, measure).as_float())
        .where(x.c.episode_id == d.c.episode_id, x.c.seq < d.c.seq,
               x.c.trigger.in_(("record_followup", "reassess")), _field(x, measure).as_float().is_not(None))
        .order_by(x.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )  # fmt: skip
    final = sa.func.coalesce(_field(d, measure).as_float(), latest)
    return (
        sa.select(d.c.episode_id, baseline.label("baseline"), final.label("final"))
        .where(_discharging(d), s.within(d.c.occurred_on))
        .subquery()
    )


def outcomes(conn: sa.Connection, s: Scope) -> dict[str, Any]:
    result = {}
    for measure in ("pain", "mhhs"):
        pairs = _outcome_pairs(s, measure)
        change = (pairs.c.final - pairs.c.baseline).label("x")
        if measure == "pain":  # improvement is a fall
            gain = pairs.c.baseline - pairs.c.final
            reached: sa.ColumnElement[bool] = (gain >= PAIN_MCID_POINTS) | (
                (pairs.c.baseline > 0) & (gain * 100 >= PAIN_MCID_PERCENT * pairs.c.baseline)
            )
        else:
            reached = change >= s.mhhs_mcid
        both = sa.and_(pairs.c.baseline.is_not(None), pairs.c.final.is_not(None))
        values = sa.select(change, sa.case((reached, 1), else_=0).label("reached")).where(both).subquery()
        n, middle, hits = conn.execute(median(values, flag="reached")).one()
        result[measure] = {"n": n, "median_change": _round(middle), "mcid_reached": hits,
                           "mcid_share": share(hits, n)}  # fmt: skip
    return result


def outcome_pairs(conn: sa.Connection, s: Scope) -> dict[str, list[tuple[float, float]]]:
    """Chart data: (baseline, final) per discharged patient, for pain and mHHS."""
    data = {}
    for measure in ("pain", "mhhs"):
        pairs = _outcome_pairs(s, measure)
        rows = conn.execute(
            sa.select(pairs.c.baseline, pairs.c.final).where(pairs.c.baseline.is_not(None), pairs.c.final.is_not(None))
        ).all()
        data[measure] = [(float(b), float(f)) for b, f in rows]
    return data


def rules_versions(conn: sa.Connection, s: Scope) -> list[int]:
    """The rule-set versions recorded on the period's events: the rules its figures were judged by."""
    e = E.alias("e")
    query = sa.select(e.c.rules_version).distinct().where(s.within(e.c.occurred_on)).order_by(e.c.rules_version)
    return list(conn.execute(query).scalars())


def _inside(f: Any) -> Any:
    return (f.c.days >= f.c.opens) & (f.c.days < f.c.closes)


def rates(s: Scope) -> dict[str, sa.Subquery]:
    """The main adherence figures as rates, one row per counted event: its date and 1 if it hit.

    The same conditions as the figures above, so that the trend adds up to them.
    """

    def rate(e: Any, hit: Any, *where: Any) -> sa.Subquery:
        return sa.select(e.c.occurred_on.label("on"), sa.case((hit, 1), else_=0).label("hit")).where(
            s.within(e.c.occurred_on), *where).subquery()  # fmt: skip

    e, c = E.alias("e"), COUNTED.alias("c")
    f = _first_reassessments(s)
    return {
        "mri_without_radiograph_report": rate(e, _no_radiograph_report_before(e), e.c.trigger == "order_mri"),
        "first_reassessment_in_window": sa.select(f.c.occurred_on.label("on"),
                                                  sa.case((_inside(f), 1), else_=0).label("hit")).subquery(),
        "diagnostic_positive": rate(e, _positive(e), e.c.trigger == "record_injection_response",
                                    _field(e, "pain_reduction_pct").as_float().is_not(None)),
        "early_surgical_referrals": rate(e, _early(e), e.c.trigger == "refer_to_surgery"),
        "events_with_override": rate(c, c.c.override_reason.is_not(None)),
    }  # fmt: skip


FIGURES = {
    "episodes_opened": episodes_opened,
    "mri_without_radiograph_report": mri_without_radiograph_report,
    "days_referral_to_diagnosis": days_referral_to_diagnosis,
    "days_diagnosis_to_first_reassessment": days_diagnosis_to_first_reassessment,
    "first_reassessment_in_window": first_reassessment_in_window,
    "overdue_flags": flags.overdue_flags,
    "injections": injections,
    "early_surgical_referrals": early_surgical_referrals,
    "overrides_by_guard": overrides_by_guard,
    "corrections": corrections,
    "actors_established": actors_established,
    "surgical_approach": surgical_approach,
    "outcomes": outcomes,
}
