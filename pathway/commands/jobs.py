"""`pathway jobs flag-overdue`: the scheduled job, for cron, systemd timers and CronJobs."""

from __future__ import annotations

import click

from pathway.clock import parse_instant
from pathway.commands.common import PathwayGroup, app, emit, global_options
from pathway.mail import Mailer
from pathway.services import notify as digests
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


@jobs.command("notify")
@click.option(
    "--now", "now_text", metavar="TIMESTAMP",
    help="Act as of this ISO 8601 instant (no zone: the site's zone); default: the clock.",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Count the digests that are due without sending or recording any.")
@global_options
def notify(now_text: str | None, dry_run: bool) -> None:
    """Email each user who opted in their worklist digest (daily or weekly).

    Each coordinator or clinician with `pathway user set NAME --email ADDRESS --digest daily`
    gets one message per day (weekly: per ISO week, from its first run) listing what is due
    and overdue, with a link to each patient's page under PATHWAY_BASE_URL. It goes over
    PATHWAY_SMTP_URL (smtp://, smtp+starttls:// or smtps://; sender PATHWAY_SMTP_FROM).
    Patient references are in it only when PATHWAY_DIGEST_IDENTIFIED=1; otherwise counts
    and links. Safe to repeat and to overlap: a digest is sent once per period. Prints the
    counts ({"recipients", "sent", "would_send", "already_sent", "nothing_due", "failed",
    "dry_run"} with --json); exits 69 if the mail server could not take some, which the
    next run sends.

    \b
    Example:
      pathway jobs notify    # every morning, from cron or a systemd timer
    """
    a = app()
    now = parse_instant(now_text) if now_text is not None else a.now()
    if server := a.remote():
        result = server.call("POST", "/api/jobs/notify",
                             body={"now": now.isoformat() if now_text else None, "dry_run": dry_run})  # fmt: skip
    else:
        site = digests.Site.from_environment()
        mailer = None if dry_run else Mailer.from_environment()
        result = digests.notify(a.engine(), actor=a.actor(), now=now, mailer=mailer, site=site, dry_run=dry_run)
    emit(result, _notify_human)


def _notify_human(r: dict) -> None:
    if r["dry_run"]:
        click.echo(f"Would send {r['would_send']} digest(s) of {r['recipients']} recipient(s); "
                   f"{r['nothing_due']} with nothing due. Nothing was sent.")  # fmt: skip
    else:
        click.echo(f"Sent {r['sent']} digest(s) of {r['recipients']} recipient(s); {r['already_sent']} already sent "
                   f"this period, {r['nothing_due']} with nothing due.")  # fmt: skip
