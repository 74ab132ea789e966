"""Users, roles, passwords and tokens: the bodies of `pathway user ...` --json (administrators, or oneself)."""

from __future__ import annotations

from typing import Any

from pathway.errors import InvalidInput
from pathway.services import contacts, passwords, tokens, users
from pathway.web.call import Call
from pathway.web.routes import ApiRoute
from pathway.web.routes.convert import text


def _name(call: Call) -> str:
    return str(call.request.path_params["name"])


def _text(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise InvalidInput(f"{key} is required, as text.")
    return value


def list_users(call: Call) -> list[dict[str, Any]]:
    assert call.actor is not None
    with call.uow() as uow:
        return users.list_users(uow, actor=call.actor, now=call.now)


def add(call: Call) -> dict[str, Any]:
    assert call.actor is not None
    data = call.json()
    with call.uow(write=True) as uow:
        return users.add_user(uow, name=_text(data, "name"), role=_text(data, "role"), actor=call.actor, now=call.now)


def _toggle(call: Call, enabled: bool) -> dict[str, Any]:
    assert call.actor is not None
    with call.uow(write=True) as uow:
        return users.set_enabled(uow, name=_name(call), enabled=enabled, actor=call.actor, now=call.now)


def disable(call: Call) -> dict[str, Any]:
    return _toggle(call, False)


def enable(call: Call) -> dict[str, Any]:
    return _toggle(call, True)


def revoke(call: Call) -> dict[str, Any]:
    assert call.actor is not None
    role = _text(call.json(), "role")
    with call.uow(write=True) as uow:
        return users.revoke_role(uow, name=_name(call), role=users.check_role(role), actor=call.actor, now=call.now)


def password(call: Call) -> dict[str, Any]:
    """Set a password (the hash check is argon2: it runs in the thread pool, as every handler does)."""
    assert call.actor is not None
    text = _text(call.json(), "password")
    with call.uow(write=True) as uow:
        return passwords.set_password(uow, name=_name(call), password=text, actor=call.actor, now=call.now)


def contact(call: Call) -> dict[str, Any]:
    """Where a user's worklist digest goes and how often (the body of `pathway user set --json`)."""
    assert call.actor is not None
    data = call.json()
    email, digest = text(data.get("email"), "email"), text(data.get("digest"), "digest")
    with call.uow(write=True) as uow:
        return contacts.set_contact(uow, name=_name(call), email=email, digest=digest, actor=call.actor, now=call.now)


def token_list(call: Call) -> list[dict[str, Any]]:
    assert call.actor is not None
    with call.uow() as uow:
        return tokens.list_tokens(uow, name=_name(call), actor=call.actor, now=call.now)


def token_create(call: Call) -> dict[str, Any]:
    assert call.actor is not None
    data = call.json()
    days, note = data.get("expires_days"), data.get("note", "")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
        raise InvalidInput("expires_days must be a whole number of days, 1 or more.")
    if not isinstance(note, str):
        raise InvalidInput("note must be text.")
    with call.uow(write=True) as uow:
        return tokens.create_token(uow, name=_name(call), expires_days=days, note=note, actor=call.actor,
                                   now=call.now)  # fmt: skip


def token_revoke(call: Call) -> dict[str, Any]:
    assert call.actor is not None
    token_id = call.path_id("token")
    with call.uow(write=True) as uow:
        return tokens.revoke_token(uow, name=_name(call), token_id=token_id, actor=call.actor, now=call.now)


ROUTES = [
    ApiRoute("GET", "/api/users", list_users, "Users, their roles and whether they are active."),
    ApiRoute("POST", "/api/users", add, "Add a user with a role, or give a user another role.", body=("name", "role")),
    ApiRoute("POST", "/api/users/{name}/disable", disable, "Disable a user (kept for the audit trail)."),
    ApiRoute("POST", "/api/users/{name}/enable", enable, "Re-enable a disabled user."),
    ApiRoute("POST", "/api/users/{name}/revoke", revoke, "Take a role from a user.", body=("role",)),
    ApiRoute("PUT", "/api/users/{name}/password", password, "Set a user's password (administrators, or oneself).",
             body=("password",)),
    ApiRoute("PUT", "/api/users/{name}/contact", contact,
             "Set a user's email address and worklist digest (daily, weekly, off): administrators, or oneself.",
             body=("email", "digest")),
    ApiRoute("GET", "/api/users/{name}/tokens", token_list, "A user's API tokens (never the tokens themselves)."),
    ApiRoute("POST", "/api/users/{name}/tokens", token_create, "Create an API token for a user: shown once.",
             status=201, body=("expires_days", "note")),
    ApiRoute("POST", "/api/users/{name}/tokens/{token}/revoke", token_revoke, "Revoke one of a user's API tokens."),
]  # fmt: skip
