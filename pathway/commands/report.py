"""`pathway report quality`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from pathway.clock import today
from pathway.commands.audit import date_option
from pathway.commands.common import Choice, PathwayGroup, app, fit_width, global_options
from pathway.files import AtomicFile
from pathway.reports import quality, render, trend
from pathway.services.reports import quality_report

FORMATS = ("text", "json", "csv", "html")


@click.group(cls=PathwayGroup)
def report() -> None:
    """Reports for quality review."""


@report.command("quality")
@click.option("--since", metavar="DATE", help="Start of the period (YYYY-MM-DD; default: the first record).")
@click.option("--until", metavar="DATE", help="End of the period, included (YYYY-MM-DD; default: today).")
@click.option("--format", "fmt", type=Choice(FORMATS), default="text", show_default=True,
              help="text, json, csv (section, figure, value, label) or html (one page with charts).")  # fmt: skip
@click.option("--out", metavar="PATH", type=click.Path(path_type=Path), help="Write to this file (default: stdout).")
@click.option("--mhhs-mcid", type=click.FloatRange(0, 100, min_open=True), default=quality.MHHS_MCID_POINTS,
              show_default=True, help="mHHS rise counted as a minimal clinically important difference.")  # fmt: skip
@click.option("--trend", "trend_by", type=Choice(trend.BY), default="month", show_default=True,
              help="Show the main adherence figures month by month or quarter by quarter.")
@global_options
def quality_(since: str | None, until: str | None, fmt: str, out: Path | None, mhhs_mcid: float,
             trend_by: str) -> None:
    """Guideline adherence over a period (the specification's review figures), each event judged by its recorded rules.

    \b
    Examples:
      pathway report quality --since 2026-01-01 --until 2026-12-31 --trend quarter
      pathway report quality --format html --out quality-2026.html
    """
    a = app()
    if a.json:
        fmt = "json"
    period = {"since": date_option(since, "--since"), "until": date_option(until, "--until")}
    server = a.remote()
    data: dict[str, Any] = {}
    html = ""
    if server is not None:  # the server computes the figures (HTML with its charts); they are shown here
        query = {**period, "mhhs_mcid": mhhs_mcid, "trend": trend_by, "format": "html" if fmt == "html" else "json"}
        if fmt == "html":
            html = server.text("/api/report/quality", query=query)
        else:
            data = server.call("GET", "/api/report/quality", query=query)
    else:
        with a.uow() as uow:
            a.authorize(uow, "report.quality")
            data = quality_report(uow, **period, today=today(), mhhs_mcid=mhhs_mcid, charts=fmt == "html",
                                  trend_by=trend_by)  # fmt: skip
    if fmt == "text" and out is None:
        width = fit_width()
        click.echo(render.as_text(data, width, aligned=width is not None), nl=False)
        return
    if fmt == "html" and server is not None:
        text = html
    elif fmt == "html":
        from pathway.reports.html import as_html  # matplotlib loads only when needed

        text = as_html(data)
    elif fmt == "csv":
        text = render.as_csv(data)
    elif fmt == "json":
        text = json.dumps(data, indent=2) + "\n"
    else:
        text = render.as_text(data)
    if out is None:
        sys.stdout.write(text)
        return
    with AtomicFile(out, fault="report.before_publish") as file:
        file.write(text.encode())
    click.echo(f"Wrote the quality report ({fmt}) to {out}.", err=True)
