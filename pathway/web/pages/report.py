"""The quality report in the page: its period chosen in a form, its figures and charts below.

The same figures as ``pathway report quality --format html`` (aggregates only: no
patient appears in it), laid out in this site's page so it shares its navigation and
accessibility; the standalone HTML file stays one link away for saving or printing.
The charts are SVG in ``data:`` images: nothing is fetched from elsewhere.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.responses import Response

from pathway.clock import site_timezone
from pathway.domain.fields import FieldError, parse_date
from pathway.reports import render, trend
from pathway.services.reports import quality_report
from pathway.web.pages.view import View


def _dates(view: View) -> tuple[dict[str, date | None], dict[str, str]]:
    """The period from the query, with what is wrong by field."""
    period: dict[str, date | None] = {}
    errors: dict[str, str] = {}
    for name, label in (("since", "The start date"), ("until", "The end date")):
        text = view.query(name)
        try:
            period[name] = parse_date(text, label) if text else None
        except FieldError as exc:
            errors[name], period[name] = str(exc), None
    since, until = period["since"], period["until"]
    if since and until and since > until:
        errors["until"] = f"The end date {until} is before the start date {since}; swap them."
    return period, errors


def _sections(report: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    sections: dict[str, list[tuple[str, str]]] = {}
    for section, name, value in render.rows(report):
        sections.setdefault(section, []).append((render.label(name), render.shown(name, value)))
    return [(render.TITLES[s], items) for s, items in sections.items()]


def _charts(report: dict[str, Any]) -> list[Markup]:
    """The report's charts as ``<img>`` elements (built by pathway.reports.html, which escapes their text)."""
    from pathway.reports import html  # matplotlib loads only when a report is drawn

    return [Markup(draw(report)) for draw in (html.states_chart, html.reassessment_chart, html.outcomes_chart,
                                      html.overrides_chart, html.trend_chart)]  # fmt: skip


def quality(view: View) -> Response:
    """The report for the period chosen (default: from the first record to today); bad dates refused by field."""
    trend_by = view.query("trend") or "month"
    form = {"since": view.query("since") or "", "until": view.query("until") or "", "trend": trend_by}
    period, errors = _dates(view)
    if trend_by not in trend.BY:
        errors["trend"] = f"Show the trend by {' or '.join(trend.BY)}."
    with view.uow() as uow:
        view.authorize(uow, "report.quality")
        data = None if errors else quality_report(
            uow, since=period["since"], until=period["until"], today=view.now.astimezone(site_timezone()).date(),
            charts=True, trend_by=trend_by)  # fmt: skip
    if data is None:
        return view.page("report.html", form=form, errors=errors, trends=trend.BY, report=None, nav="report",
                         status=400)  # fmt: skip
    query = {k: v for k, v in {"format": "html", "since": form["since"], "until": form["until"],
                               "trend": trend_by}.items() if v}  # fmt: skip
    columns, lines = render.trend_table(data)
    return view.page("report.html", form=form, errors={}, trends=trend.BY, report=data, nav="report",
                     period_text=render.period_text(data), threshold_text=render.threshold_text(data),
                     sections=_sections(data), charts=_charts(data), trend_columns=columns, trend_lines=lines,
                     standalone="/api/report/quality?" + urlencode(query))  # fmt: skip
