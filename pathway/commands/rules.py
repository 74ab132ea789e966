"""`pathway rules show|list|new|diff|activate|export|migrate`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pathway.commands.common import ID, PathwayGroup, app, emit, global_options, table
from pathway.domain.rule_checks import RuleEntry
from pathway.domain.rule_diff import shown
from pathway.errors import InvalidInput
from pathway.files import AtomicFile
from pathway.inputs import MiB, read_input
from pathway.services import rule_migration
from pathway.services import rule_sets as lifecycle
from pathway.services import rules as service

RULE_FILE_LIMIT = MiB  # a whole rule set with its sources is a few KiB


@click.group(cls=PathwayGroup)
def rules() -> None:
    """The versioned rule sets that guards and timers read."""


def _value_text(rule: dict[str, Any]) -> str:
    value = rule["value"]
    text = (
        ", ".join(map(str, value))
        if isinstance(value, list)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
    )
    return f"{text} {rule['unit']}" if rule["unit"] and rule["unit"] != "injections" else text


@rules.command("show")
@click.argument("number", type=ID, metavar="[N]", required=False)
@click.option("--version", "version", type=ID, metavar="N", help="The same as N (kept for scripts).")
@global_options
def show(number: int | None, version: int | None) -> None:
    """List the rules of rule set N (default: the active one) with their basis.

    \b
    Example:
      pathway rules show 2
    """
    if number is not None and version is not None and number != version:
        raise InvalidInput(f"Rule set {number} or {version}? Give the version once, as N or --version N.")
    version = number if number is not None else version
    a = app()
    if server := a.remote():
        if version is None:
            version = next(r["version"] for r in server.call("GET", "/api/rules") if r["status"] == "active")
        data = server.call("GET", f"/api/rules/{version}")
    else:
        with a.uow() as uow:
            a.authorize(uow, "rules.show")
            data = service.show_rules(uow, version)
    emit(
        data,
        lambda d: table(
            f"Rule set v{d['version']} ({d['status']}, created {d['created_at'][:10]} by {d['created_by']})"
            f" {d['note']}",
            ("key", "value", "basis"),
            ((r["key"], _value_text(r), r["basis"]) for r in d["rules"]),
            wrap=("basis",),
        ),
    )


def _basis(entry: RuleEntry | None) -> str:
    return entry.basis if entry is not None else ""


def _diff_rows(changes: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for c in changes:
        old, new = (RuleEntry(c["key"], **side) if side else None for side in (c["old"], c["new"]))
        what = c["change"] if c["value_changed"] or c["change"] != "changed" else "basis only"
        rows.append((c["key"], what, shown(old), shown(new), _basis(new or old) if c["basis_changed"] else ""))
    return rows


def _print_diff(title: str, changes: list[dict[str, Any]]) -> None:
    if not changes:
        click.echo(f"{title}: no differences.")
        return
    table(title, ("rule", "change", "old", "new", "basis (when changed)"), _diff_rows(changes),
          wrap=("basis (when changed)",))


@rules.command("list")
@global_options
def list_() -> None:
    """List every rule-set version with its status, author and activation.

    \b
    Example:
      pathway rules list
    """
    a = app()
    if server := a.remote():
        data = server.call("GET", "/api/rules")
    else:
        with a.uow() as uow:
            a.authorize(uow, "rules.list")
            data = lifecycle.list_rule_sets(uow)
    emit(
        data,
        lambda d: table(
            None,
            ("version", "status", "created", "by", "activated", "by", "retired", "note"),
            ((r["version"], r["status"], r["created_at"][:16], r["created_by"], (r["activated_at"] or "")[:16],
              r["activated_by"], (r["retired_at"] or "")[:16], r["note"]) for r in d),
            wrap=("note",),
        ),
    )  # fmt: skip


@rules.command("new")
@click.option(
    "--from",
    "path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE.toml",
    help="A rule file: one table per rule with value, unit and basis.",
)
@click.option("--note", metavar="TEXT", help="Why this rule set is proposed (kept with the version).")
@global_options
def new(path: Path, note: str | None) -> None:
    """Store a rule file as a new draft version, after checking every rule in it.

    \b
    Example:
      pathway rules new --from rules-v2.toml --note 'shorter reassessment window'
    """
    raw = read_input(path, what="rule files", limit=RULE_FILE_LIMIT)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"Cannot read {path.name} as UTF-8 text ({exc}).") from None
    a = app()
    if server := a.remote():
        data = server.call("POST", "/api/rules", body={"toml": text, "source": path.name, "note": note})
    else:
        with a.uow(write=True) as uow:
            actor = a.authorize(uow, "rules.new")
            data = lifecycle.create_rule_set(uow, text=text, source=path.name, note=note, actor=actor, now=a.now())

    def human(d: dict[str, Any]) -> None:
        click.echo(f"Created draft rule set v{d['version']} from {path.name}.")
        diff = d["diff_from_active"]
        if diff:
            _print_diff(f"Changes from the active v{diff['from_version']}", diff["changes"])
            click.echo(f"Preview its effect: pathway rules migrate --to {d['version']} "
                       f"--all-on {diff['from_version']} --dry-run")  # fmt: skip
        click.echo(f"Activate it for new episodes: pathway rules activate {d['version']}")

    emit(data, human)


@rules.command("diff")
@click.argument("old", type=ID, metavar="A")
@click.argument("new", type=ID, metavar="B")
@global_options
def diff(old: int, new: int) -> None:
    """Show the rules added, removed or changed from version A to version B, with units.

    \b
    Example:
      pathway rules diff 1 2
    """
    a = app()
    if server := a.remote():
        data = server.call("GET", f"/api/rules/{old}/diff/{new}")
    else:
        with a.uow() as uow:
            a.authorize(uow, "rules.diff")
            data = lifecycle.diff_rule_sets(uow, old, new)
    emit(data, lambda d: _print_diff(f"Rule set v{old} -> v{new}", d["changes"]))


@rules.command("activate")
@click.argument("version", type=ID, metavar="N")
@global_options
def activate(version: int) -> None:
    """Make draft N the active rule set (new episodes use it); the active one is retired.

    \b
    Example:
      pathway rules activate 2
    """
    a = app()
    if server := a.remote():
        data = server.call("POST", f"/api/rules/{version}/activate")
    else:
        with a.uow(write=True) as uow:
            actor = a.authorize(uow, "rules.activate")
            data = lifecycle.activate_rule_set(uow, version=version, actor=actor, now=a.now())
    emit(
        data,
        lambda d: click.echo(
            f"Rule set v{d['version']} is active" + (f"; v{d['retired_version']} is retired" if d["retired_version"]
            else "") + ". New episodes use it; running episodes keep their version until `pathway rules migrate`."
        ),
    )  # fmt: skip


@rules.command("export")
@click.argument("version", type=ID, metavar="N")
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path), metavar="PATH",
              help="Write the file here (default: standard output).")  # fmt: skip
@global_options
def export(version: int, out: Path | None) -> None:
    """Write rule set N as a TOML rule file (what `rules new --from` reads).

    \b
    Example:
      pathway rules export 1 --out rules-v1.toml
    """
    a = app()
    if server := a.remote():
        text = server.call("GET", f"/api/rules/{version}/export")["toml"]
    else:
        with a.uow() as uow:
            a.authorize(uow, "rules.export")
            text = lifecycle.export_rule_set(uow, version)
    if out is None:
        emit({"version": version, "toml": text}, lambda d: click.echo(d["toml"], nl=False))
        return
    with AtomicFile(out) as file:
        file.write(text.encode())
    emit({"version": version, "out": str(out)}, lambda d: click.echo(f"Wrote rule set v{version} to {out}."))


def _migration_human(data: dict[str, Any]) -> None:
    verb = "Would move" if data["dry_run"] else "Moved"
    for version, changes in data["rule_changes"].items():
        _print_diff(f"Rules v{version} -> v{data['to_version']}", changes)
    click.echo(f"{verb} {len(data['episodes'])} episode(s) to rule set v{data['to_version']} (as of {data['as_of']}).")
    for e in data["episodes"]:
        found = [(name, c) for name, items in e["changes"].items() for c in items]
        click.echo(f"- episode {e['id']} ({e['state']}, v{e['from_version']}): "
                   + ("no change today" if not found else f"{len(found)} change(s)"))  # fmt: skip
        for name, c in found:
            label = f"{c['trigger']} / {c['guard']}" if name == "guards" else name
            click.echo(f"    {label}: {c['summary']}")


@rules.command("migrate")
@click.option("--to", "to_version", required=True, type=ID, metavar="N", help="The rule set to move episodes to.")
@click.option("--episode", "episode_id", type=ID, metavar="ID", help="Move this one episode.")
@click.option("--all-on", "all_on", type=ID, metavar="M", help="Move every running episode pinned to version M.")
@click.option("--dry-run", is_flag=True, help="Only show what would change for each episode (drafts allowed).")
@global_options
def migrate(to_version: int, episode_id: int | None, all_on: int | None, dry_run: bool) -> None:
    """Re-pin running episodes to rule set N, with an audit event on each episode.

    \b
    Examples:
      pathway rules migrate --to 2 --all-on 1 --dry-run
      pathway rules migrate --to 2 --episode 12
    """
    a = app()
    if server := a.remote():
        body = {"to_version": to_version, "episode_id": episode_id, "all_on": all_on, "dry_run": dry_run}
        data = server.call("POST", "/api/rules/migrate", body=body)
    else:
        with a.uow(write=not dry_run) as uow:
            actor = a.authorize(uow, "rules.preview" if dry_run else "rules.migrate", episode_id=episode_id)
            data = rule_migration.migrate_rules(
                uow, to_version=to_version, episode_id=episode_id, all_on=all_on, dry_run=dry_run,
                actor=actor, now=a.now(),
            )  # fmt: skip
    emit(data, _migration_human)
