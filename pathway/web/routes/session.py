"""Health, signing in and out, and who am I."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.responses import JSONResponse, Response

from pathway.db import migrate
from pathway.errors import InvalidInput
from pathway.services import access
from pathway.services.sign_in import session_user, sign_in, sign_out
from pathway.web.auth import COOKIE
from pathway.web.call import Call
from pathway.web.routes import ApiRoute


def health(call: Call) -> Response:
    """Whether the database answers and its schema is this pathway's."""
    try:
        with call.engine.connect() as conn:
            current = migrate.current_revision(conn)
    except sa.exc.SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": False, "schema_current": False}, status_code=503)
    ok = current == migrate.head_revision()
    return JSONResponse({"status": "ok" if ok else "outdated", "database": True, "schema_current": ok},
                        status_code=200 if ok else 503)  # fmt: skip


def _secure(call: Call) -> bool:
    return call.request.url.scheme == "https"


def create_session(call: Call) -> Response:
    data = call.json()
    name, password = data.get("name"), data.get("password")
    if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
        raise InvalidInput('Send {"name": "...", "password": "..."} to sign in.')
    with call.uow(write=True) as uow:
        signed = sign_in(uow, name=name, password=password, now=call.now, policy=call.settings.policy)
    response = JSONResponse({"name": signed.name, "auth": signed.auth, "csrf_token": signed.csrf}, status_code=201)
    response.set_cookie(COOKIE, signed.session_id, httponly=True, samesite="lax", secure=_secure(call), path="/",
                        max_age=int(call.settings.policy.absolute.total_seconds()))  # fmt: skip
    return response


def delete_session(call: Call) -> Response:
    secret = call.request.cookies.get(COOKIE)
    if secret:
        with call.uow(write=True) as uow:
            sign_out(uow, secret=secret, now=call.now)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(call))
    return response


def me(call: Call) -> dict[str, Any]:
    assert call.actor is not None
    with call.uow() as uow:
        roles = access.held_roles(uow.session, call.actor.name) or []
        row = None
        if call.actor.auth in ("password", "oidc") and (secret := call.request.cookies.get(COOKIE)):
            row = session_user(uow, secret, call.now, call.settings.policy)
    data: dict[str, Any] = {"name": call.actor.name, "roles": roles, "auth": call.actor.auth}
    if row is not None:
        data["csrf_token"] = row.csrf
    return data


ROUTES = [
    ApiRoute("GET", "/api/health", health, "Database reachable and schema current (for load balancers).",
             signed_in=False),
    ApiRoute("POST", "/api/session", create_session, "Sign in with name and password: sets the session cookie.",
             signed_in=False, status=201, body=("name", "password")),
    ApiRoute("DELETE", "/api/session", delete_session, "Sign out: ends the session.", signed_in=False, status=204),
    ApiRoute("GET", "/api/me", me, "Who am I: name, roles, how I signed in (and the CSRF token of my session)."),
]  # fmt: skip
