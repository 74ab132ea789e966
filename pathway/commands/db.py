"""`pathway db upgrade|info|backup`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pathway.commands.common import PathwayGroup, app, emit, global_options, table
from pathway.db import migrate
from pathway.db.engine import shown
from pathway.services import backup as backups
from pathway.services import database, users


@click.group(cls=PathwayGroup)
def db() -> None:
    """Create, upgrade, inspect and back up the database."""


@db.command("upgrade")
@click.option("--admin", "admin", metavar="NAME", help="Make NAME an administrator (the first one ends open mode).")
@global_options
def upgrade(admin: str | None) -> None:
    """Bring the schema up to date (safe to run again, and concurrently).

    \b
    Example:
      pathway --db /srv/pathway/clinic.sqlite3 db upgrade --admin amira
    """
    a = app()
    engine = a.engine(schema="any")
    migrate.upgrade(engine)
    data: dict[str, Any] = {"url": shown(engine.url), "revision": migrate.head_revision()}
    if admin is not None:
        with a.uow(write=True) as uow:
            data["admin"] = users.ensure_admin(uow, name=admin, actor=a.actor(), now=a.now())
    emit(data, _upgrade_human)


def _upgrade_human(data: dict[str, Any]) -> None:
    click.echo(f"{data['url']} is at revision {data['revision']} (latest).")
    if "admin" in data:
        admin = data["admin"]
        done = "is now an administrator" if admin["changed"] else "was already an administrator"
        click.echo(f"{admin['name']} {done}; users and roles are enforced.")


def _info_human(data: dict[str, Any]) -> None:
    rows: list[tuple[str, Any]] = [
        ("mode", "direct: this command line works on the database itself"),
        ("database", data["url"]),
        ("back end", data["backend"]),
        ("schema revision", f"{data['revision']} ({'latest' if data['up_to_date'] else 'needs `pathway db upgrade`'})"),
    ]
    if "counts" in data:
        rows += [(name, count) for name, count in data["counts"].items()]
        rows.append(("active rules", f"v{data['active_rules_version']}"))
        rows += [(f"  {state}", n) for state, n in data["episodes_by_state"].items()]
        access = data["access"]
        if access["mode"] == "open":
            rows.append(("access", "open single-user mode: no users yet, anyone may do anything"))
        else:
            rows.append(("access", f"users and roles enforced ({access['active_users']} of {access['users']} active)"))
    table(None, ("", ""), rows, wrap=("",))


@db.command("info")
@global_options
def info() -> None:
    """Where the database is, its schema revision, access mode and what it holds.

    \b
    Example:
      pathway db info
    """
    a = app()
    if server := a.remote():
        me = server.call("GET", "/api/me")
        data = {"mode": "client", "server": server.login.server, "login": server.login.source, "user": me["name"],
                "roles": me["roles"], "auth": me["auth"]}  # fmt: skip
        emit(data, lambda d: table(None, ("", ""), [
            ("mode", "client: every command the API offers goes through the server"), ("server", d["server"]),
            ("signed in as", f"{d['user']} ({', '.join(d['roles']) or 'no roles'}; {d['auth']})"),
            ("token from", d["login"])], wrap=("",)))  # fmt: skip
        return
    a.engine(schema="lenient")
    with a.uow() as uow:
        if migrate.current_revision(uow.connection) == migrate.head_revision():
            a.authorize(uow, "db.info")
        data = database.info(uow)
    emit(data, _info_human)


@db.command("backup")
@click.argument("path", metavar="PATH")
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@global_options
def backup(path: str, force: bool) -> None:
    """Copy the live database to PATH consistently: SQLite's backup API, or pg_dump's custom format (PostgreSQL).

    \b
    Example:
      pathway db backup /srv/backups/pathway-$(date +%F).sqlite3
    """
    a = app()
    with a.uow() as uow:
        a.authorize(uow, "db.backup")
        data = backups.backup(uow, Path(path), overwrite=force)
    emit(data, _backup_human)


def _backup_human(data: dict[str, Any]) -> None:
    click.echo(
        f"Backed up {data['episodes']} episodes and {data['events']} events to {data['path']} "
        f"({data['bytes']} bytes, readable by you only; integrity {data['integrity']})."
    )
