"""Overdue flags, derived in SQL from the events as the scheduled job would have opened them.

A *wait* is an episode waiting for something (a report, a decision, a reassessment, a
follow-up) from an anchor date; it becomes an overdue flag on its overdue day (anchor
plus the pinned rule's days) unless the awaited event, or a move out of the state,
came first. The flag stays open until that event; one still waiting at the end of the
period counts as still open, for the days up to then.

Window functions find each wait's end in one pass over the events: the *stays* (each
state an episode entered, and when it left it) and the conservative phase's anchors
with the next event that settles them.

A wait is timed by the rule set in force when it ended (the version the ending event
was recorded under), or by the episode's current one while it lasts: that is the set
the job timed its flag with, since moving an episode to other rules re-times only the
flags still unresolved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pathway.db.effective import effective_events
from pathway.db.models import EpisodeRow, RuleRow
from pathway.db.types import AnyRow
from pathway.reports.sql import add_days, days_between, json_elements, json_number, rule

if TYPE_CHECKING:
    from pathway.reports.quality import Scope

E = effective_events()  # the events as they now count (db/effective.py)
EP: sa.Table = EpisodeRow.__table__  # type: ignore[assignment]

# Flags that follow from being in a state: kind -> (states, rule giving the overdue day).
STATE_WAITS = {
    "radiograph_report": (("radiographs_ordered",), "radiograph_report_overdue_days"),
    "mri_report": (("mri_ordered",), "mri_report_overdue_days"),
    "workup_decision": (("radiographs_reported", "mri_reported", "diagnosed"), "workup_decision_overdue_days"),
    "injection_response": (("injection_done",), "injection_response_overdue_days"),
    "surgery_scheduling": (("surgical_referral",), "surgery_scheduling_overdue_days"),
}
KINDS = (*STATE_WAITS, "reassessment", "surgery_record", "postop_followup")
ANCHORS = ("start_conservative", "return_to_conservative", "reassess")
SETTLERS = ("reassess", "refer_to_surgery", "discharge", "close")


def _ended_under() -> Any:
    """The rules version of the next row's event, else the episode's: the rules a wait ended under."""
    following = sa.func.lead(E.c.rules_version).over(partition_by=E.c.episode_id, order_by=E.c.seq)
    return sa.func.coalesce(following, EP.c.rules_version).label("rules_version")


def _stays() -> sa.CTE:
    """Every state an episode entered: when, by which event, and when it left (NULL: still there)."""
    changed = sa.or_(E.c.from_state.is_(None), E.c.from_state != E.c.to_state)
    return (
        sa.select(
            E.c.episode_id, E.c.seq, E.c.to_state.label("state"), E.c.occurred_on.label("entered_on"),
            sa.case((E.c.trigger == "schedule_surgery", E.c.fields["planned_on"].as_string())).label("planned_on"),
            _ended_under(),
            sa.func.lead(E.c.occurred_on).over(partition_by=E.c.episode_id, order_by=E.c.seq).label("left_on"),
        )
        .select_from(E.join(EP, EP.c.id == E.c.episode_id))
        .where(changed)
        .cte("stays")
        .prefix_with("MATERIALIZED")
    )  # fmt: skip


def _phases() -> sa.CTE:
    """Conservative-care anchors and settling events, each with the date of the next one."""
    return (
        sa.select(
            E.c.episode_id, E.c.trigger, E.c.to_state, E.c.occurred_on, _ended_under(),
            sa.func.lead(E.c.occurred_on).over(partition_by=E.c.episode_id, order_by=E.c.seq).label("next_on"),
        )
        .select_from(E.join(EP, EP.c.id == E.c.episode_id))
        .where(E.c.trigger.in_(ANCHORS + SETTLERS))
        .cte("phases")
    )  # fmt: skip


def _wait(
    episode_id: Any, kind: Any, anchor: Any, days: Any, ended_on: Any, source: Any, *where: Any
) -> sa.Select[Any]:
    """A wait that falls overdue ``days`` after ``anchor`` unless it ended first."""
    return (
        sa.select(
            episode_id.label("episode_id"),
            (sa.literal(kind) if isinstance(kind, str) else kind).label("kind"),
            anchor.label("anchor"),
            days.label("days"),
            ended_on.label("ended_on"),
        )
        .select_from(source)
        .where(*where)
    )


def _long_enough(s: Scope, anchor: Any, ended_on: Any, keys: Any) -> Any:
    """A cheap first filter: the wait lasted at least the shortest of these rules in any rule set
    (one uncorrelated lookup), so that the pinned rule is looked up only for the few that did."""
    shortest = sa.select(sa.func.min(json_number(RuleRow.value))).where(RuleRow.key.in_(keys)).scalar_subquery()
    return days_between(anchor, sa.func.coalesce(ended_on, sa.literal(s.as_of, sa.Date))) >= shortest


def waits(s: Scope) -> sa.Subquery:
    stays, phases = _stays(), _phases()
    # One pass over the stays for every state-based kind.
    kind_of = {state: kind for kind, (states, _) in STATE_WAITS.items() for state in states}
    key_of = {state: key for states, key in STATE_WAITS.values() for state in states}
    parts = [
        _wait(stays.c.episode_id, sa.case(kind_of, value=stays.c.state), stays.c.entered_on,
              rule(sa.case(key_of, value=stays.c.state), stays.c.rules_version), stays.c.left_on, stays,
              stays.c.state.in_(kind_of),
              _long_enough(s, stays.c.entered_on, stays.c.left_on, sorted(set(key_of.values()))))
    ]  # fmt: skip
    parts.append(_wait(
        phases.c.episode_id, "reassessment", phases.c.occurred_on,
        rule("reassessment_window_close_days", phases.c.rules_version), phases.c.next_on, phases,
        phases.c.trigger.in_(ANCHORS), phases.c.to_state == "conservative_care",
        _long_enough(s, phases.c.occurred_on, phases.c.next_on, ["reassessment_window_close_days"]),
    ))  # fmt: skip
    # ISO text: a date to SQLite's date functions; PostgreSQL needs the cast
    planned: sa.ColumnElement[Any] = stays.c.planned_on
    if s.dialect == "postgresql":
        planned = sa.cast(planned, sa.Date)
    parts.append(_wait(
        stays.c.episode_id, "surgery_record", planned, rule("followup_grace_days", stays.c.rules_version),
        stays.c.left_on, stays, stays.c.state == "surgery_scheduled",
    ))  # fmt: skip
    parts.append(_postop(s, stays))
    return sa.union_all(*parts).subquery("waits")


def _postop(s: Scope, stays: sa.CTE) -> sa.Select[Any]:
    """Each post-operative milestone: due at surgery + milestone, overdue after the grace days,
    settled by a follow-up within the grace days either side of it (PATHWAY.md; a later one
    does not meet it) or by leaving post_operative."""
    x = E.alias("x")
    rr = sa.table("rules", sa.column("rule_set_version"), sa.column("key"), sa.column("value")).alias("rr")
    milestone = json_elements(s.dialect, rr.c.value, "milestone")
    grace = rule("followup_grace_days", stays.c.rules_version)
    due = add_days(stays.c.entered_on, sa.cast(milestone.c.value, sa.Integer))
    followup = (
        sa.select(sa.func.min(x.c.occurred_on))
        .where(
            x.c.episode_id == stays.c.episode_id,
            x.c.seq > stays.c.seq,
            x.c.trigger == "record_followup",
            x.c.occurred_on >= add_days(due, -grace),
            x.c.occurred_on <= add_days(due, grace),
        )  # fmt: skip
        .scalar_subquery()
    )
    source = stays.join(rr, sa.and_(rr.c.rule_set_version == stays.c.rules_version,
                                    rr.c.key == "postop_followup_days")).join(milestone, sa.true())  # fmt: skip
    # Materialised, so that the follow-up lookup runs once per milestone, not once per use.
    due_rows = (
        sa.select(stays.c.episode_id, stays.c.entered_on.label("anchor"),
                  (sa.cast(milestone.c.value, sa.Integer) + grace).label("days"),
                  stays.c.left_on, followup.label("followup"))
        .select_from(source)
        .where(stays.c.state == "post_operative")
        .cte("milestones")
        .prefix_with("MATERIALIZED")
    )  # fmt: skip
    m = due_rows.c
    ended = sa.case((sa.and_(m.followup.is_not(None), sa.or_(m.left_on.is_(None), m.followup < m.left_on)),
                     m.followup), else_=m.left_on)  # fmt: skip
    return _wait(m.episode_id, "postop_followup", m.anchor, m.days, ended, due_rows)


def _overdue(s: Scope) -> sa.Select[Any]:
    """Each flag whose overdue day falls in the period: its episode, kind, anchor, overdue day, end
    (None while open at the period's end), days open since the overdue day, and whether still open."""
    w = waits(s)
    open_at_end = sa.or_(w.c.ended_on.is_(None), w.c.ended_on > s.as_of)
    end = sa.case((open_at_end, sa.literal(s.as_of, sa.Date)), else_=w.c.ended_on)
    waited = days_between(w.c.anchor, end)
    # Day arithmetic on numbers, not dates: the overdue day is anchor + days.
    in_period = [days_between(w.c.anchor, sa.literal(s.as_of, sa.Date)) >= w.c.days]
    if s.since is not None:
        in_period.append(days_between(w.c.anchor, sa.literal(s.since, sa.Date)) <= w.c.days)
    if s.until is not None:
        in_period.append(days_between(w.c.anchor, sa.literal(s.until, sa.Date)) >= w.c.days)
    return sa.select(
        w.c.episode_id, w.c.kind, w.c.anchor, add_days(w.c.anchor, w.c.days).label("overdue_on"),
        sa.case((open_at_end, None), else_=w.c.ended_on).label("ended_on"),
        (waited - w.c.days).label("x"), sa.case((open_at_end, 1), else_=0).label("still_open"),
    ).where(waited >= w.c.days, *in_period)  # fmt: skip


def overdue_list(conn: sa.Connection, s: Scope) -> list[AnyRow]:
    """The flags ``overdue_flags`` counts, one row each (episode_id, kind, anchor, overdue_on, ended_on,
    x = days open, still_open), for drilling down and for checking against the job's flags."""
    q = _overdue(s).subquery()
    typed = sa.select(
        q.c.episode_id, q.c.kind, sa.type_coerce(q.c.anchor, sa.Date).label("anchor"),
        sa.type_coerce(q.c.overdue_on, sa.Date).label("overdue_on"),
        sa.type_coerce(q.c.ended_on, sa.Date).label("ended_on"), sa.cast(q.c.x, sa.Integer).label("x"), q.c.still_open,
    ).order_by(q.c.episode_id, q.c.overdue_on, q.c.kind)  # fmt: skip
    return list(conn.execute(typed))


def overdue_flags(conn: sa.Connection, s: Scope) -> dict[str, Any]:
    """Flags whose overdue day falls in the period: how many, still open, median days open."""
    opened = _overdue(s).cte("opened").prefix_with("MATERIALIZED")
    ranked = (
        sa.select(
            opened,
            sa.func.row_number().over(partition_by=opened.c.kind, order_by=opened.c.x).label("rk"),
            sa.func.count().over(partition_by=opened.c.kind).label("nk"),
            sa.func.row_number().over(order_by=opened.c.x).label("ra"),
            sa.func.count().over().label("na"),
        )
        .cte("ranked")
        .prefix_with("MATERIALIZED")
    )
    r = ranked.c

    def middle(rank: Any, n: Any) -> Any:
        return sa.func.avg(sa.case((sa.or_(rank == (n + 1) // 2, rank == (n + 2) // 2), sa.cast(r.x, sa.Float))))

    by_kind_rows = sa.select(r.kind, sa.func.count(), sa.func.sum(r.still_open), middle(r.rk, r.nk)).group_by(r.kind)
    overall = sa.select(sa.literal("*"), sa.func.count(), sa.func.sum(r.still_open), middle(r.ra, r.na))
    rows = conn.execute(sa.union_all(by_kind_rows, overall)).all()
    by_kind = {k: {"opened": 0, "still_open": 0, "median_days_open": None} for k in KINDS}
    total = {"opened": 0, "median_days_open": None}
    for kind, n, still, med in rows:
        figures = {"opened": n, "still_open": still or 0, "median_days_open": None if med is None else round(med, 2)}
        if kind == "*":
            total = {"opened": n, "median_days_open": figures["median_days_open"]}
        else:
            by_kind[kind] = figures
    return {**total, "by_kind": by_kind}
