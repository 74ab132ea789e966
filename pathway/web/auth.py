"""Who is calling: a Bearer token, or a session cookie (with its CSRF token for changes).

A bearer token needs no CSRF token: a browser never adds it by itself. A session cookie
is sent by the browser with any request, so every state-changing call it authenticates
must also carry the session's CSRF token in the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import sqlalchemy as sa
from starlette.requests import Request

from pathway.db.uow import Shared, UnitOfWork
from pathway.errors import AccessDenied
from pathway.services import Actor
from pathway.services.sign_in import TOUCH_EVERY as SESSION_TOUCH
from pathway.services.sign_in import NotSignedIn, Policy, session_user, touch
from pathway.services.tokens import TOUCH_EVERY, user_of_token
from pathway.services.tokens import touch as touch_token

COOKIE = "pathway_session"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotSignedIn("The Authorization header must be `Bearer TOKEN`; `pathway user token create` makes one.")
    return token.strip()


def authenticate(engine: sa.Engine, request: Request, now: datetime, policy: Policy, shared: Shared | None = None
                 ) -> Actor:  # fmt: skip
    """The caller as an Actor with how they were established, or NotSignedIn (401).

    ``shared``: the request's connection, which the handler's units then reuse.
    """
    token = bearer(request)
    if token is not None:
        with UnitOfWork(engine, shared=shared, single=True) as uow:
            live = user_of_token(uow, token, now)
        if live is None:
            raise NotSignedIn("The token is unknown, expired or revoked; sign in again or ask for a new token.")
        if live.last_used_at is None or now - live.last_used_at >= TOUCH_EVERY:
            with UnitOfWork(engine, write=True, shared=shared) as uow:
                touch_token(uow, live, now)
        return Actor(live.user_name, auth="token", held=live.roles)
    secret = request.cookies.get(COOKIE)
    if not secret:
        raise NotSignedIn("Not signed in: POST /api/session with name and password, or send a Bearer token.")
    with UnitOfWork(engine, shared=shared) as uow:
        row = session_user(uow, secret, now, policy)
    if row is None:
        raise NotSignedIn("The session has ended or expired; sign in again.")
    if request.method in UNSAFE:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), row.csrf.encode()):
            raise AccessDenied(
                "This change needs the session's CSRF token in the X-CSRF-Token header "
                "(POST /api/session and GET /api/me return it). Nothing was changed."
            )
    if now - row.last_seen_at >= SESSION_TOUCH:  # a write lock only when the idle deadline must move
        with UnitOfWork(engine, write=True, shared=shared) as uow:
            touch(uow, row, now)
    return Actor(row.user_name, auth=row.auth)
