"""API tokens for the signed-in user themself: what `pathway login` and `logout` use."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from pathway.errors import InvalidInput
from pathway.services import tokens
from pathway.web.auth import bearer
from pathway.web.call import Call
from pathway.web.routes import ApiRoute


def create(call: Call) -> dict[str, Any]:
    """A new token for whoever is signed in (a browser session, or another token)."""
    assert call.actor is not None
    data = call.json()
    days, note = data.get("expires_days"), data.get("note", "")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
        raise InvalidInput("expires_days must be a whole number of days.")
    if not isinstance(note, str):
        raise InvalidInput("note must be text.")
    with call.uow(write=True) as uow:
        return tokens.create_token(uow, name=call.actor.name, expires_days=days, note=note, actor=call.actor,
                                   now=call.now)  # fmt: skip


def revoke_current(call: Call) -> Response:
    """Revoke the token this call presents (signing a command line out)."""
    assert call.actor is not None
    secret = bearer(call.request)
    if secret is None:
        raise InvalidInput("Send the token to revoke as Authorization: Bearer TOKEN.")
    with call.uow(write=True) as uow:
        tokens.revoke_presented(uow, secret=secret, actor=call.actor, now=call.now)
    return Response(status_code=204)


ROUTES = [
    ApiRoute("POST", "/api/tokens", create, "A new API token for the signed-in user, shown once.", status=201,
             body=("expires_days", "note")),
    ApiRoute("DELETE", "/api/tokens/current", revoke_current, "Revoke the token this call is made with.",
             status=204),
]  # fmt: skip
