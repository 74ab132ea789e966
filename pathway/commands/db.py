"""`pathway db upgrade|info`."""

from __future__ import annotations

from typing import Any

import click

from pathway.commands.common import app, emit, global_options, table
from pathway.db import migrate
from pathway.db.engine import shown
from pathway.services import database


@click.group()
def db() -> None:
    """Create, upgrade and inspect the database."""


@db.command("upgrade")
@global_options
def upgrade() -> None:
    """Bring the schema up to date (safe to run again, and concurrently)."""
    engine = app().engine(schema="any")
    migrate.upgrade(engine)
    emit({"url": shown(engine.url), "revision": migrate.head_revision()},
         lambda d: click.echo(f"{d['url']} is at revision {d['revision']} (latest)."))  # fmt: skip


def _info_human(data: dict[str, Any]) -> None:
    rows: list[tuple[str, Any]] = [
        ("database", data["url"]),
        ("back end", data["backend"]),
        ("schema revision", f"{data['revision']} ({'latest' if data['up_to_date'] else 'needs `pathway db upgrade`'})"),
    ]
    if "counts" in data:
        rows += [(name, count) for name, count in data["counts"].items()]
        rows.append(("active rules", f"v{data['active_rules_version']}"))
        rows += [(f"  {state}", n) for state, n in data["episodes_by_state"].items()]
    table(None, ("", ""), rows)


@db.command("info")
@global_options
def info() -> None:
    """Where the database is, its schema revision and what it holds."""
    a = app()
    a.engine(schema="lenient")
    with a.uow() as uow:
        data = database.info(uow)
    emit(data, _info_human)
