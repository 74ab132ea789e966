"""`pathway user add|list|disable|enable|password|token`: who may use pathway, in which roles, and how."""

from __future__ import annotations

import sys
from typing import Any

import click

from pathway.commands.common import COUNT, ID, Choice, PathwayGroup, app, emit, global_options, table
from pathway.domain.access import ROLES
from pathway.services import contacts, users


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
    if server := a.remote():
        data = server.call("POST", "/api/users", body={"name": name, "role": role})
    else:
        with a.uow(write=True) as uow:
            data = users.add_user(uow, name=name, role=role, actor=a.actor(), now=a.now())
    emit(data, lambda d: click.echo(f"{d['name']}: {', '.join(d['roles'])}" + ("" if d["changed"] else " (unchanged)")))


@user.command("set")
@click.argument("name")
@click.option("--email", metavar="ADDRESS", help="Where the digest goes; an empty value removes the address.")
@click.option("--digest", type=Choice(("daily", "weekly", "off")), help="How often `jobs notify` sends the worklist.")
@global_options
def set_(name: str, email: str | None, digest: str | None) -> None:
    """Set where user NAME's worklist digest goes and how often (an admin, or NAME themself).

    Prints the user's address and digest ({"name", "email", "digest", "changed"} with --json).

    \b
    Example:
      pathway --as cora user set cora --email cora@clinic.org --digest daily
    """
    a = app()
    if server := a.remote():
        data = server.call("PUT", f"/api/users/{name}/contact", body={"email": email, "digest": digest})
    else:
        with a.uow(write=True) as uow:
            data = contacts.set_contact(uow, name=name, email=email, digest=digest, actor=a.actor(), now=a.now())
    emit(data, lambda d: click.echo(f"{d['name']}: {d['email'] or 'no address'}, digest {d['digest']}"
                                    + ("" if d["changed"] else " (unchanged)")))  # fmt: skip


@user.command("list")
@global_options
def list_() -> None:
    """List users, their roles and whether they are active.

    \b
    Example:
      pathway user list
    """
    a = app()
    if server := a.remote():
        data = server.call("GET", "/api/users")
    else:
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


def _path(name: str) -> str:
    """A user name as one URL path segment."""
    from urllib.parse import quote

    return quote(name, safe="")


def _toggle(name: str, enabled: bool) -> None:
    a = app()
    if server := a.remote():
        data = server.call("POST", f"/api/users/{_path(name)}/{'enable' if enabled else 'disable'}", body={})
    else:
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


def _read_password(name: str, from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return str(click.prompt(f"New password for {name}", hide_input=True, confirmation_prompt=True, err=True))


@user.command("revoke")
@click.argument("name")
@click.argument("role", type=Choice(ROLES))
@global_options
def revoke(name: str, role: str) -> None:
    """Take ROLE from user NAME (the grant stays in the users' history).

    \b
    Example:
      pathway --as amira user revoke kim coordinator
    """
    a = app()
    if server := a.remote():
        data = server.call("POST", f"/api/users/{_path(name)}/revoke", body={"role": role})
    else:
        with a.uow(write=True) as uow:
            data = users.revoke_role(uow, name=name, role=role, actor=a.actor(), now=a.now())
    roles = ", ".join(data["roles"]) or "no roles"
    emit(data, lambda d: click.echo(f"{d['name']}: {roles}" + ("" if d["changed"] else f" (had no {role} role).")))


@user.command("password")
@click.argument("name")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the password from one line of standard input.")
@global_options
def password(name: str, from_stdin: bool) -> None:
    """Set NAME's password for signing in to `pathway serve` (admins, or NAME).

    At least 12 characters, not the user name, not a common password; stored
    as an argon2id hash.

    \b
    Example:
      pathway --as amira user password bo
    """
    from pathway.services import passwords

    a = app()
    server = a.remote()
    text = _read_password(name, from_stdin)
    if server:
        data = server.call("PUT", f"/api/users/{_path(name)}/password", body={"password": text})
    else:
        with a.uow(write=True) as uow:
            data = passwords.set_password(uow, name=name, password=text, actor=a.actor(), now=a.now())
    emit(data, lambda d: click.echo(f"Password set for {d['name']}."))


@user.group("token", cls=PathwayGroup)
def token() -> None:
    """API tokens for scripts, cron and the CLI (admins, or the token's user)."""


@token.command("create")
@click.argument("name")
@click.option("--expires", "expires_days", type=COUNT, metavar="DAYS", help="Expire after DAYS days.")
@click.option("--note", default="", metavar="TEXT", help="What the token is for.")
@global_options
def token_create(name: str, expires_days: int | None, note: str) -> None:
    """Create an API token for NAME and print it, once: only a hash is kept.

    \b
    Example:
      pathway --as amira user token create cron --expires 365 --note nightly
    """
    from pathway.services import tokens

    a = app()
    if server := a.remote():
        data = server.call("POST", f"/api/users/{_path(name)}/tokens", body={"expires_days": expires_days,
                                                                              "note": note})  # fmt: skip
    else:
        with a.uow(write=True) as uow:
            data = tokens.create_token(uow, name=name, expires_days=expires_days, note=note, actor=a.actor(),
                                       now=a.now())  # fmt: skip
    if a.json:
        emit({"token": data["token"]}, lambda d: click.echo(d["token"]))
        return
    click.echo(data["token"])
    click.echo(f"Token {data['id']} for {name}: copy it now, it is not shown again.", err=True)


@token.command("list")
@click.argument("name")
@global_options
def token_list(name: str) -> None:
    """List NAME's API tokens (never the tokens themselves).

    \b
    Example:
      pathway --as amira user token list cron
    """
    from pathway.services import tokens

    a = app()
    if server := a.remote():
        data = server.call("GET", f"/api/users/{_path(name)}/tokens")
    else:
        with a.uow() as uow:
            data = tokens.list_tokens(uow, name=name, actor=a.actor(), now=a.now())
    emit(data, lambda d: table(
        None, ("id", "note", "created", "expires", "revoked", "last used"),
        ((t["id"], t["note"], t["created_at"][:16], (t["expires_at"] or "never")[:16], (t["revoked_at"] or "")[:16],
          (t["last_used_at"] or "")[:16]) for t in d), wrap=("note",)))  # fmt: skip


@token.command("revoke")
@click.argument("name")
@click.argument("token_id", type=ID, metavar="ID")
@global_options
def token_revoke(name: str, token_id: int) -> None:
    """Revoke NAME's API token ID: it is refused from now on.

    \b
    Example:
      pathway --as amira user token revoke cron 3
    """
    from pathway.services import tokens

    a = app()
    if server := a.remote():
        data = server.call("POST", f"/api/users/{_path(name)}/tokens/{token_id}/revoke", body={})
    else:
        with a.uow(write=True) as uow:
            data = tokens.revoke_token(uow, name=name, token_id=token_id, actor=a.actor(), now=a.now())
    emit(data, lambda d: click.echo(f"Token {d['id']} of {name} is revoked" + ("." if d["changed"] else
                                                                               " (it was already).")))  # fmt: skip
