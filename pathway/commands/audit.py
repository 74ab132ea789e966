"""`pathway audit verify|export`."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from pathway.commands.common import ID, Choice, PathwayGroup, ProgressBar, app, global_options
from pathway.domain.fields import FieldError, parse_date
from pathway.errors import InvalidInput
from pathway.exports.records import Period
from pathway.services import audit as service


@click.group(cls=PathwayGroup)
def audit() -> None:
    """Prove the audit trail intact, and export it for review."""


def _verify_human(data: dict[str, Any]) -> None:
    for item in data["broken"]:
        where = "episode row" if item["where"] == "episode" else f"event {item['seq']}"
        click.echo(f"episode {item['episode_id']}: {item['kind']} ({where}): {item['message']}")
    for problem in data["problems"]:
        click.echo(problem)


@audit.command("verify")
@click.option("--episode", "episode_id", type=ID, metavar="ID", help="Check this episode only.")
@global_options
def verify(episode_id: int | None) -> None:
    """Recompute every hash chain and check it against the chain head on its episode row.

    Prints the first broken link of each episode (edited, deleted, inserted or reordered
    events, or an episode row that disagrees with its chain) and of the access log's
    chain; exit 0 when all is intact, 1 when not.

    \b
    Examples:
      pathway audit verify
      pathway audit verify --episode 12
    """
    a = app()
    with a.uow() as uow:
        a.authorize(uow, "audit.verify", episode_id=episode_id)
        data = service.verify(uow, episode_id=episode_id)
    if a.json:
        click.echo(json.dumps(data, indent=2))
    else:
        _verify_human(data)
    episodes = f"{data['episodes']} episode{'s' if data['episodes'] != 1 else ''}"
    if data["intact"]:
        click.echo(f"Intact: {episodes} and {data['events']} events match their hash chains and chain heads.", err=True)
        return
    broken = len(data["broken"])
    if broken:
        ids = ", ".join(str(b["episode_id"]) for b in data["broken"][:10]) + (" …" if broken > 10 else "")
        verb = "has" if broken == 1 else "have"
        click.echo(f"Not intact: {broken} of {episodes} {verb} a broken chain (episodes {ids}).", err=True)
    else:
        click.echo(f"Not intact: {len(data['problems'])} problem(s) outside the episodes' chains.", err=True)
    raise click.exceptions.Exit(1)


def date_option(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return parse_date(value, name)
    except FieldError as exc:
        raise InvalidInput(str(exc)) from None


@audit.command("export")
@click.option("--format", "fmt", required=True, type=Choice(service.FORMATS), help="csv, jsonl or fhir.")
@click.option("--since", metavar="DATE", help="Only events dated on or after this day (YYYY-MM-DD).")
@click.option("--until", metavar="DATE", help="Only events dated on or before this day (YYYY-MM-DD).")
@click.option("--out", metavar="PATH", type=click.Path(dir_okay=True, path_type=Path),
              help="File (csv, jsonl; default: standard output) or folder (fhir; required).")  # fmt: skip
@click.option("--identified", is_flag=True,
              help="Real patient references and dates instead of pseudonyms and day numbers; recorded in the "
              "access log.")  # fmt: skip
@global_options
def export(fmt: str, since: str | None, until: str | None, out: Path | None, identified: bool) -> None:
    """Export the audit trail: pseudonymised by default, written whole or not at all.

    Patient references become keyed pseudonyms (stable across the site's exports), dates
    become days since the episode's referral, and free text is withheld, unless
    --identified. A FHIR export is a folder of NDJSON files, one per resource type.

    \b
    Examples:
      pathway audit export --format csv --since 2026-01-01 --out trail.csv
      pathway audit export --format fhir --out fhir-2026/
    """
    a = app()
    period = Period(date_option(since, "--since"), date_option(until, "--until"))
    target = None if out is None or str(out) == "-" else out
    bar = ProgressBar("exporting") if sys.stderr.isatty() else None
    try:
        with a.uow() as uow:
            actor = a.authorize(uow, "audit.export.identified" if identified else "audit.export")
            summary = service.export(
                uow, fmt=fmt, period=period, out=target, identified=identified, actor=actor, now=a.now(),
                stdout=sys.stdout.buffer if target is None else None, progress=bar,
            )  # fmt: skip
    finally:
        if bar is not None:
            bar.stop()
    kind = "identified" if identified else "pseudonymised"
    where = "standard output" if target is None else summary["out"]
    click.echo(f"Exported {summary['events']} events ({kind}, {fmt}) to {where}.", err=True)
    if a.json and target is not None:
        click.echo(json.dumps(summary, indent=2))
