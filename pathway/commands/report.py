"""`pathway report quality`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from pathway.clock import today
from pathway.commands.audit import date_option
from pathway.commands.common import app, global_options, table
from pathway.files import AtomicFile
from pathway.reports import quality, render
from pathway.services.reports import quality_report

FORMATS = ("text", "json", "csv", "html")


@click.group()
def report() -> None:
    """Reports for quality review."""


def _text(data: dict[str, Any]) -> None:
    click.echo(render.period_text(data))
    click.echo(render.threshold_text(data))
    section = None
    lines: list[tuple[str, str]] = []
    for sec, name, value in [*render.rows(data), ("", "", None)]:
        if sec != section and section is not None:
            click.echo(f"\n{render.TITLES[section]}")
            table(None, ("figure", "value"), lines)
            lines = []
        section = sec
        if sec:
            lines.append((name.replace("_", " "), render.shown(name, value)))


@report.command("quality")
@click.option("--since", metavar="DATE", help="Start of the period (YYYY-MM-DD; default: the first record).")
@click.option("--until", metavar="DATE", help="End of the period, included (YYYY-MM-DD; default: today).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text (tables), json, csv (section, figure, value) or html (one page with charts).")  # fmt: skip
@click.option("--out", metavar="PATH", type=click.Path(path_type=Path), help="Write to this file (default: stdout).")
@click.option("--mhhs-mcid", type=click.FloatRange(0, 100, min_open=True), default=quality.MHHS_MCID_POINTS,
              show_default=True, help="mHHS rise counted as a minimal clinically important difference.")  # fmt: skip
@global_options
def quality_(since: str | None, until: str | None, fmt: str, out: Path | None, mhhs_mcid: float) -> None:
    """Guideline adherence over a period (PATHWAY.md "Quality review"), from each episode's pinned rules."""
    a = app()
    if a.json:
        fmt = "json"
    with a.uow() as uow:
        a.authorize(uow, "report.quality")
        data = quality_report(uow, since=date_option(since, "--since"), until=date_option(until, "--until"),
                              today=today(), mhhs_mcid=mhhs_mcid, charts=fmt == "html")  # fmt: skip
    if fmt == "text" and out is None:
        _text(data)
        return
    if fmt == "html":
        from pathway.reports.html import as_html  # matplotlib loads only when needed

        text = as_html(data)
    elif fmt == "csv":
        text = render.as_csv(data)
    elif fmt == "json":
        text = json.dumps(data, indent=2) + "\n"
    else:
        text = "\n".join(f"{s}\t{n}\t{render.shown(n, v)}" for s, n, v in render.rows(data)) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    with AtomicFile(out, fault="report.before_publish") as file:
        file.write(text.encode())
    click.echo(f"Wrote the quality report ({fmt}) to {out}.", err=True)
