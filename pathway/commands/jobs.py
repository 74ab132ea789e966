"""`pathway jobs flag-overdue`: the scheduled job, for cron, systemd timers and CronJobs."""

from __future__ import annotations

import click

from pathway.clock import parse_instant
from pathway.commands.common import PathwayGroup, app, emit, global_options
from pathway.services import overdue


@click.group(cls=PathwayGroup)
def jobs() -> None:
    """Scheduled jobs. Each is safe to repeat and to overlap with another run."""


@jobs.command("flag-overdue")
@click.option(
    "--now", "now_text", metavar="TIMESTAMP",
    help="Act as of this ISO 8601 instant (no zone: the site's zone); default: the clock.",
)  # fmt: skip
@global_options
def flag_overdue(now_text: str | None) -> None:
    """Open the flags that have come due and print how many are open.

    Prints opened, resolved and open counts ({"opened": n, "resolved": n, "open": n}
    with --json). Exits non-zero with one line on stderr if it fails; nothing is opened then.

    \b
    Example:
      pathway jobs flag-overdue    # nightly, from cron or a systemd timer
    """
    a = app()
    now = parse_instant(now_text) if now_text is not None else a.now()
    if server := a.remote():
        result = server.call("POST", "/api/jobs/flag-overdue", body={"now": now.isoformat() if now_text else None})
    else:
        with a.uow() as uow:
            a.authorize(uow, "jobs.flag-overdue")
        result = overdue.flag_overdue(a.engine(), now=now)
    emit(
        result,
        lambda r: click.echo(f"Opened {r['opened']} flag(s), resolved {r['resolved']}; {r['open']} open now."),
    )
