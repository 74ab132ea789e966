"""`pathway audit verify|export`."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pathway.commands.common import ID, App, Choice, Integer, PathwayGroup, ProgressBar, app, emit, global_options, table
from pathway.domain.fields import FieldError, parse_date
from pathway.errors import InvalidInput
from pathway.exports.records import Period
from pathway.files import AtomicDirectory, AtomicFile
from pathway.services import audit as service
from pathway.services import checkpoints

if TYPE_CHECKING:
    from pathway.remote import Remote


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
@click.option("--checkpoint", "checkpoints", multiple=True, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Also check that the database extends this signed checkpoint; repeatable.")  # fmt: skip
@click.option("--public-key", metavar="KEY",
              help="The key checkpoints must be signed with (ed25519:… or a file holding it); default: the "
              "key each checkpoint carries.")  # fmt: skip
@global_options
def verify(episode_id: int | None, checkpoints: tuple[Path, ...], public_key: str | None) -> None:
    """Recompute every hash chain and check it against the chain head on its episode row.

    Prints the first broken link of each episode (edited, deleted, inserted or reordered
    events, or an episode row that disagrees with its chain), of the access log's chain,
    and users or roles that differ from their recorded history. With --checkpoint, also
    whether each signed checkpoint holds and nothing it covers was rewritten or removed.
    Exit 0 when all is intact, 1 when not.

    \b
    Examples:
      pathway audit verify
      pathway audit verify --episode 12
      pathway audit verify --checkpoint cp-2026-11-30.json --public-key ed25519:…
    """
    a = app()
    if server := a.remote():
        if checkpoints:
            raise InvalidInput("--checkpoint is checked against the database itself; run it with --db URL "
                               "where the database is reachable.")
        data = server.call("GET", "/api/audit/verify", query={"episode": episode_id})
    else:
        with a.uow() as uow:
            a.authorize(uow, "audit.verify", episode_id=episode_id)
            data = service.verify(uow, episode_id=episode_id, checkpoints=checkpoints, public_key=public_key)
    if a.json:
        click.echo(json.dumps(data, indent=2))
    else:
        _verify_human(data)
    episodes = f"{data['episodes']} episode{'s' if data['episodes'] != 1 else ''}"
    if data["intact"]:
        extends = ""
        if data.get("checkpoints"):
            n = data["checkpoints"]
            extends = f"; the database extends {n} checkpoint{'s' if n != 1 else ''}"
        click.echo(f"Intact: {episodes} and {data['events']} events match their hash chains and chain heads{extends}.",
                   err=True)  # fmt: skip
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
    if server := a.remote():
        summary = _export_through(server, fmt, period, target, identified)
    else:
        summary = _export_here(a, fmt, period, target, identified)
    kind = "identified" if identified else "pseudonymised"
    where = "standard output" if target is None else summary["out"]
    click.echo(f"Exported {summary['events']} events ({kind}, {fmt}) to {where}.", err=True)
    if a.json and target is not None:
        click.echo(json.dumps(summary, indent=2))


def _export_here(a: App, fmt: str, period: Period, target: Path | None, identified: bool) -> dict[str, Any]:
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
    return summary


def _export_through(server: Remote, fmt: str, period: Period, target: Path | None, identified: bool) -> dict[str, Any]:
    """The server writes the export (with its site key); here it is placed whole, as in direct mode."""
    import tempfile
    import zipfile

    if fmt == "fhir" and target is None:
        raise InvalidInput("A FHIR export is a folder of NDJSON files: give it with --out FOLDER.")
    query = {"format": fmt, "identified": identified, "since": period.since, "until": period.until}
    summary: dict[str, Any] = {"format": fmt, "identified": identified,
                               "since": period.since.isoformat() if period.since else None,
                               "until": period.until.isoformat() if period.until else None}  # fmt: skip
    with tempfile.TemporaryFile() as spool:
        headers = server.download("/api/audit/export", query=query, into=spool)
        events = int(headers.get("x-pathway-events", "0"))
        spool.seek(0)
        if fmt == "fhir":
            assert target is not None
            resources: dict[str, int] = {}
            with zipfile.ZipFile(spool) as archive, AtomicDirectory(target) as folder:
                for name in archive.namelist():
                    if "/" in name or not name.endswith(".ndjson"):
                        raise InvalidInput(f"The server's FHIR archive holds {name!r}, not an NDJSON file.")
                    with archive.open(name) as source:  # streamed: a large export never sits in memory
                        into, lines = folder.open(name), 0
                        for line in source:
                            into.write(line)
                            lines += 1
                    resources[name.removesuffix(".ndjson")] = lines
            summary.update(out=str(folder.target), resources=resources)
        elif target is not None:
            placed = AtomicFile(target)
            with placed as file:
                shutil.copyfileobj(spool, file)
            summary["out"] = str(placed.target)
        else:
            shutil.copyfileobj(spool, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            summary["out"] = "-"
    summary["events"] = events
    return summary


@audit.command("keygen")
@click.option("--out", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the private key (default: $PATHWAY_SIGNING_KEY_FILE).")  # fmt: skip
@global_options
def keygen(out: Path | None) -> None:
    """Make the Ed25519 key that signs checkpoints; print its public key.

    The private key goes to a new owner-only file (an existing one is never replaced);
    keep it off the database server if you can. Keep the public key, printed on
    standard output, with the copies of the checkpoints.

    \b
    Example:
      pathway audit keygen --out /etc/pathway/signing.pem
    """
    a = app()
    data = checkpoints.make_key(out=out)
    if a.json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(data["public_key"])
    click.echo(f"Wrote the signing key to {data['key_file']} (owner-only); the public key is above.", err=True)


@audit.command("checkpoint")
@click.option("--out", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the checkpoint here (default: standard output).")  # fmt: skip
@global_options
def checkpoint(out: Path | None) -> None:
    """Write a signed checkpoint of the whole database (meant for cron).

    A small JSON statement: the size and Merkle root of every event hash in append order,
    digests of the rule sets, the users' history and the access log, and the time,
    signed with the key in $PATHWAY_SIGNING_KEY_FILE. Also kept in the database, but it
    counts because copies live elsewhere: ship each one off the machine.

    \b
    Example:
      pathway --as cron audit checkpoint --out /var/lib/pathway/cp.json
    """
    a = app()
    target = None if out is None or str(out) == "-" else out
    with a.uow(write=True) as uow:
        data = checkpoints.create(uow, actor=a.actor(), now=a.now(), out=target,
                                  stdout=sys.stdout.buffer if target is None else None)  # fmt: skip
    where = "standard output" if target is None else data["out"]
    click.echo(f"Checkpoint of {data['events']['size']} events written to {where}.", err=True)


@audit.command("access")
@click.option("--user", "user_name", metavar="NAME", help="Only what this user did or was refused.")
@click.option("--episode", "episode_id", type=ID, metavar="ID", help="Only what concerned this episode.")
@click.option("--since", metavar="DATE", help="Only from this day on (YYYY-MM-DD, site time).")
@click.option("--limit", type=Integer(0), default=0, metavar="N", help="At most N rows (default 0: all).")
@global_options
def access(user_name: str | None, episode_id: int | None, since: str | None, limit: int) -> None:
    """List the access log: sign-ins, refusals, identified exports, user changes (admins, reviewers).

    \b
    Examples:
      pathway --as rey audit access --since 2026-11-01
      pathway --as amira audit access --user kim --episode 12
    """
    from pathway.services.access_review import list_access

    a = app()
    with a.uow() as uow:
        rows = list_access(uow, user=user_name, episode_id=episode_id, since=date_option(since, "--since"),
                           limit=limit or None, actor=a.actor(), now=a.now())  # fmt: skip
    emit(rows, lambda data: table(
        None, ("id", "at", "user", "role", "auth", "action", "outcome", "episode"),
        ((r["id"], r["at"][:19], r["actor"], r["role"] or "", r["auth"], r["action"], r["outcome"],
          r["episode_id"] if r["episode_id"] is not None else "") for r in data),
    ))  # fmt: skip
