"""The quality-review report: every figure of PATHWAY.md over a period, from SQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from pathway.db import stream
from pathway.db.uow import UnitOfWork
from pathway.errors import InvalidInput
from pathway.reports import quality, trend
from pathway.reports.quality import Scope


def quality_report(
    uow: UnitOfWork,
    *,
    since: date | None,
    until: date | None,
    today: date,
    mhhs_mcid: float = quality.MHHS_MCID_POINTS,
    charts: bool = False,
    trend_by: str = "month",
) -> dict[str, Any]:
    """The figures as JSON-ready data; with ``charts``, the series the charts draw too."""
    if since and until and since > until:
        raise InvalidInput(f"--since {since} is after --until {until}; swap them.")
    if not 0 < mhhs_mcid <= 100:
        raise InvalidInput("The mHHS minimal clinically important difference must be above 0 and at most 100 points.")
    conn = stream.snapshot(uow.connection)
    as_of = min(until, today) if until else today
    scope = Scope(since, until, as_of, conn.dialect.name, mhhs_mcid)
    report: dict[str, Any] = {
        "period": {"since": since and since.isoformat(), "until": until and until.isoformat(),
                   "as_of": as_of.isoformat()},
        "rules_versions": quality.rules_versions(conn, scope),
        "thresholds": {
            "pain_mcid": f"a fall of at least {quality.PAIN_MCID_POINTS} points or "
                         f"{quality.PAIN_MCID_PERCENT} % of the baseline (0-10 scale)",
            "mhhs_mcid_points": mhhs_mcid,
            "rules": "the rule set recorded on each event",
        },
    }  # fmt: skip
    for name, figure in quality.FIGURES.items():
        report[name] = figure(conn, scope)
    report["trend"] = trend.trend(conn, scope, trend_by)
    if charts:
        report["series"] = {
            "reassessment_days": quality.reassessment_days(conn, scope),
            "outcome_pairs": quality.outcome_pairs(conn, scope),
        }
    return report
