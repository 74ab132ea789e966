"""`pathway worklist`: what each coordinator should chase today."""

from __future__ import annotations

import csv
import sys
from typing import Any

import click

from pathway.clock import parse_instant, site_timezone
from pathway.commands.common import DAYS, LIMIT, Choice, app, emit, global_options, table
from pathway.domain.timers import KINDS
from pathway.errors import InvalidInput
from pathway.services import identity
from pathway.services import worklist as service

COLUMNS = (
    "episode_id", "patient_ref", "side", "state", "kind", "milestone", "anchor_on", "due_on", "overdue_on",
    "status", "days_overdue", "triggers", "opened_at",
)  # fmt: skip


def _when(row: dict[str, Any]) -> str:
    days = row["days_overdue"]
    if row["status"] == "overdue":
        return f"overdue {days} d"
    if row["status"] == "due":
        return f"due; overdue in {-days} d"
    return f"due {row['due_on']}"


def _item(row: dict[str, Any]) -> str:
    return f"{row['kind']} day {row['milestone']}" if row["milestone"] is not None else row["kind"]


def _human(rows: list[dict[str, Any]], limit: int) -> None:
    if not rows:
        click.echo("Nothing due.")
        return
    table(
        None,
        ("episode", "patient", "side", "state", "item", "since", "when", "clear with"),
        ((r["episode_id"], r["patient_ref"], r["side"], r["state"], _item(r), r["anchor_on"], _when(r),
          " or ".join(r["triggers"])) for r in rows),
        wrap=("clear with",),
    )  # fmt: skip
    if limit and len(rows) == limit:
        click.echo(f"First {limit} rows; --limit N shows more (0: all).", err=True)


def _csv(rows: list[dict[str, Any]]) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "triggers": " ".join(row["triggers"])})


@click.command("worklist")
@click.option("--overdue", "overdue_only", is_flag=True, help="Only flags past their overdue day.")
@click.option(
    "--due-within", type=DAYS, default=0, metavar="DAYS",
    help="Also what comes due in the next DAYS days.",
)  # fmt: skip
@click.option("--kind", type=Choice(tuple(KINDS)), metavar="KIND",
              help=f"Only flags of this kind: {', '.join(KINDS)}.")
@click.option(
    "--limit", type=LIMIT, default=100, show_default=True, metavar="N", help="At most N rows (0: all)."
)
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout.")
@click.option(
    "--now", "now_text", metavar="TIMESTAMP",
    help="As of this ISO 8601 instant (no zone: the site's zone); default: the clock.",
)  # fmt: skip
@global_options
def worklist(
    overdue_only: bool, due_within: int, kind: str | None, limit: int, as_csv: bool, now_text: str | None
) -> None:
    """Open and upcoming flags, most overdue first, with the trigger that clears each.

    \b
    Examples:
      pathway worklist --overdue
      pathway worklist --due-within 7 --kind reassessment --csv > due.csv
    """
    a = app()
    if as_csv and a.json:
        raise InvalidInput("Choose --csv or --json, not both.")
    now = parse_instant(now_text) if now_text is not None else a.now()
    today = now.astimezone(site_timezone()).date()
    if server := a.remote():
        query = {"now": now.isoformat() if now_text else None, "overdue": overdue_only, "due_within": due_within,
                 "kind": kind, "limit": limit}  # fmt: skip
        rows = server.call("GET", "/api/worklist", query=query)
    else:
        with a.uow() as uow:
            actor = a.authorize(uow, "worklist")
            rows = identity.shown_to(actor, list(service.worklist(
                uow, today=today, overdue_only=overdue_only, due_within=due_within, kind=kind, limit=limit or None)))
    if as_csv:
        _csv(rows)
    else:
        emit(rows, lambda data: _human(data, limit))
