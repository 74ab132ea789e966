"""`pathway user add|list|disable|enable`: who may use pathway, in which roles."""

from __future__ import annotations

from typing import Any

import click

from pathway.commands.common import Choice, PathwayGroup, app, emit, global_options, table
from pathway.domain.access import ROLES
from pathway.services import users


@click.group(cls=PathwayGroup)
def user() -> None:
    """Manage users and their roles (administrators only)."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=Choice(ROLES), help="The role to give; repeat the command for more.")
@global_options
def add(name: str, role: str) -> None:
    """Add user NAME with a role, or give an existing user another role.

    \b
    Example:
      pathway --as amira user add bo --role coordinator
    """
    a = app()
    with a.uow(write=True) as uow:
        data = users.add_user(uow, name=name, role=role, actor=a.actor(), now=a.now())
    emit(data, lambda d: click.echo(f"{d['name']}: {', '.join(d['roles'])}" + ("" if d["changed"] else " (unchanged)")))


@user.command("list")
@global_options
def list_() -> None:
    """List users, their roles and whether they are active.

    \b
    Example:
      pathway user list
    """
    a = app()
    with a.uow() as uow:
        data = users.list_users(uow, actor=a.actor(), now=a.now())
    emit(data, _list_human)


def _list_human(data: list[dict[str, Any]]) -> None:
    if not data:
        click.echo("No users: open single-user mode. `pathway db upgrade --admin NAME` creates the first admin.")
        return
    table(
        None,
        ("user", "roles", "active", "created", "by"),
        ((u["name"], ", ".join(u["roles"]), "yes" if u["active"] else "no", u["created_at"][:10], u["created_by"])
         for u in data),
    )  # fmt: skip


def _toggle(name: str, enabled: bool) -> None:
    a = app()
    with a.uow(write=True) as uow:
        data = users.set_enabled(uow, name=name, enabled=enabled, actor=a.actor(), now=a.now())
    state = "active" if data["active"] else "disabled"
    emit(data, lambda d: click.echo(f"{d['name']} is {state}" + ("." if d["changed"] else " (unchanged).")))


@user.command("disable")
@click.argument("name")
@global_options
def disable(name: str) -> None:
    """Disable user NAME: they are refused from now on (kept for the audit trail).

    \b
    Example:
      pathway --as amira user disable bo
    """
    _toggle(name, enabled=False)


@user.command("enable")
@click.argument("name")
@global_options
def enable(name: str) -> None:
    """Re-enable a disabled user NAME.

    \b
    Example:
      pathway --as amira user enable bo
    """
    _toggle(name, enabled=True)
