"""`pathway import FILE` and `pathway import template`: bringing in an existing caseload.

``import`` is a command that takes a FILE, and also a group with one subcommand,
``template``: the first word decides (a file named ``template`` is ``./template``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pathway.commands.common import COUNT, Choice, ProgressBar, app, global_options
from pathway.imports.readers import FORMATS
from pathway.services import imports as service

if TYPE_CHECKING:
    from pathway.remote import Remote

_SHOWN = 50  # refused rows listed on the terminal; --json lists them all
_SUBCOMMAND = "pathway.import.subcommand"


class FileOrSubcommand(click.Command):
    """A command taking FILE whose first word may instead name a subcommand (``import template``)."""

    def __init__(self, *args: Any, subcommands: dict[str, click.Command], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subcommands = subcommands

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] in self.subcommands:
            ctx.meta[_SUBCOMMAND] = (args[0], args[1:])
            return []
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        chosen = ctx.meta.pop(_SUBCOMMAND, None)
        if chosen is None:
            return super().invoke(ctx)
        name, rest = chosen
        command = self.subcommands[name]
        with command.make_context(name, rest, parent=ctx) as sub:
            return command.invoke(sub)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, c.get_short_help_str()) for name, c in self.subcommands.items()])
        super().format_epilog(ctx, formatter)


@click.command("template", short_help="Write an empty import template.")
@click.option("--format", "fmt", type=Choice(("csv", "xlsx")), default="csv", show_default=True,
              help="CSV, or an xlsx workbook with drop-down lists.")  # fmt: skip
@click.option("--out", metavar="PATH", type=click.Path(dir_okay=False, path_type=Path),
              help="Write it here (default: standard output for CSV; required for xlsx).")  # fmt: skip
@global_options
def template(fmt: str, out: Path | None) -> None:
    """Write an empty import template: the columns and one example episode.

    \b
    Examples:
      pathway import template > caseload.csv
      pathway import template --format xlsx --out caseload.xlsx
    """
    from pathway.services import import_template

    a = app()
    result = import_template.write(fmt=fmt, out=out, now=a.now(), stdout=sys.stdout.buffer if out is None else None)
    if out is not None:
        click.echo(f"Wrote the {fmt} import template to {result['out']}.", err=True)
        if a.json:
            click.echo(json.dumps(result, indent=2))


@click.command(
    "import",
    cls=FileOrSubcommand,
    subcommands={"template": template},
    short_help="Import episodes and their history from a spreadsheet or an export.",
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE")
@click.option("--format", "fmt", type=Choice(FORMATS), help="csv, xlsx or jsonl (default: from the file).")
@click.option("--dry-run", is_flag=True, help="Check every row and report what would be imported; change nothing.")
@click.option("--override-reason", metavar="TEXT",
              help="Record historical deviations from the rules as overrides, for this reason.")  # fmt: skip
@click.option("--rules", "rules_version", type=COUNT, metavar="N",
              help="Pin the episodes opened to rule set N (default: the active one).")  # fmt: skip
@global_options
def import_(file: Path, fmt: str | None, dry_run: bool, override_reason: str | None, rules_version: int | None) -> None:
    """Import FILE: one step per row, each checked as `pathway advance` checks it, all or nothing.

    Columns: patient_ref, side, trigger, occurred_on, optionally episode_key and
    override_reason, and one per field (the --set names). Each episode starts with a row
    whose trigger is `open` (it may give referred_on and has_hip_arthroplasty), unless it
    continues an episode already open in the database. Rows of many patients may be
    interleaved; each episode's rows are taken in date order. A file imported once is
    refused the second time (exit 1); if any row is refused, nothing is imported.
    `pathway import template` writes the columns and an example.

    \b
    Examples:
      pathway import template --format xlsx --out caseload.xlsx
      pathway import caseload.xlsx --dry-run
      pathway import caseload.csv --override-reason "agreed at MDT"
    """
    a = app()
    if server := a.remote():
        _finish(_import_through(server, file, fmt, dry_run, override_reason, rules_version), a.json)
        return
    with a.uow() as uow:
        a.authorize(uow, "import")  # refused users learn nothing, not even whether the file is readable
    bar = ProgressBar() if sys.stderr.isatty() else None
    try:
        read = service.read_file(file, fmt, bar)
        try:
            with a.uow(write=True) as uow:
                actor = a.authorize(uow, *service.needed_actions(read, override_reason))
                report = service.import_rows(
                    uow, read, actor=actor, now=a.now(), dry_run=dry_run, override_reason=override_reason,
                    rules_version=rules_version, progress=bar,
                )  # fmt: skip
        finally:
            read.close()
    finally:
        if bar is not None:
            bar.stop()
    _finish(report, a.json)


def _import_through(server: Remote, file: Path, fmt: str | None, dry_run: bool, override_reason: str | None,
                    rules_version: int | None) -> dict[str, Any]:  # fmt: skip
    """Send FILE to the server (checked here first, as direct mode checks it); its report."""
    from pathway.imports.readers import open_source

    source = open_source(file, fmt)  # a missing, linked, oversized or binary file: the same error as direct mode
    try:
        query = {"format": source.fmt, "name": str(file), "dry_run": dry_run, "override_reason": override_reason,
                 "rules": rules_version}  # fmt: skip
        _status, report = server.upload("/api/import", query=query, source=source.file)
    finally:
        source.close()
    return dict(report)


def _finish(report: dict[str, Any], as_json: bool) -> None:
    code = service.exit_code(report)
    if code:
        for problem in report["refused"][:_SHOWN]:
            click.echo(_line(problem), err=True)
        more = report["rows_refused"] - _SHOWN
        if more > 0:
            click.echo(f"… and {more} more rows (--json lists every one).", err=True)
        message = service.refused_summary(report)
        click.echo(message, err=True)
        if as_json:
            click.echo(json.dumps({**report, "error": {"exit_code": code, "message": message}}, indent=2))
        raise SystemExit(code)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _summary(report)


def _line(problem: dict[str, Any]) -> str:
    who = f" (patient {problem['patient']})" if problem["patient"] is not None else ""
    verb = {"refused": "refused", "invalid": "invalid", "not_checked": "not checked"}[problem["kind"]]
    reasons = "; ".join(r.rstrip(".") for r in problem["reasons"])
    return f"row {problem['row']}{who}: {problem['trigger'] or '(no trigger)'} {verb}: {reasons}"


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _summary(report: dict[str, Any]) -> None:
    verb = "would open" if report["dry_run"] else "opened"
    counts = ", ".join(f"{t} {n}" for t, n in report["events_by_trigger"].items())
    continued = f" and continued {report['episodes_continued']}" if report["episodes_continued"] else ""
    lead = "Dry run: nothing was changed. The import" if report["dry_run"] else "Imported: the import"
    click.echo(
        f"{lead} {verb} {_n(report['episodes_opened'], 'episode')}{continued} with {_n(report['events'], 'event')} "
        f"under rule set {report['rules_version']}."
    )
    if counts:
        click.echo(f"  events: {counts}")
    if report["overrides"]:
        n = report["overrides"]
        click.echo(f"  {n} {'event records an override' if n == 1 else 'events record overrides'}.")
    for trigger, n in report["skipped"].items():
        click.echo(f"  skipped {n} {trigger} events (not clinical steps: the episodes are pinned anew).")
    due = report["flags_due"]
    if due:
        verb = "would be" if report["dry_run"] else "is" if due == 1 else "are"
        click.echo(f"  {due} {'flag' if due == 1 else 'flags'} {verb} due or overdue on the worklist.")
    click.echo(f"  file SHA-256 {report['sha256']}")
