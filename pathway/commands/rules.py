"""`pathway rules show`."""

from __future__ import annotations

from typing import Any

import click

from pathway.commands.common import ID, app, emit, global_options, table
from pathway.services import rules as service


@click.group()
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
@click.option("--version", "version", type=ID, metavar="N", help="This version (default: the active one).")
@global_options
def show(version: int | None) -> None:
    """List the rules of a rule set with their basis."""
    a = app()
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
        ),
    )
