"""Single sign-on: start at the provider, come back with a session (see services.single_sign_on)."""

from __future__ import annotations

import os

from starlette.responses import JSONResponse, RedirectResponse, Response

from pathway.errors import NotFound
from pathway.services import single_sign_on as sso
from pathway.web.auth import COOKIE
from pathway.web.call import Call
from pathway.web.routes import ApiRoute

STATE_COOKIE = "pathway_oidc_state"


def _provider() -> sso.Provider:
    provider = sso.Provider.from_environment()
    if provider is None:
        raise NotFound("Single sign-on is not configured here (PATHWAY_OIDC_ISSUER); sign in with a password.")
    return provider


def _redirect_uri(call: Call) -> str:
    return os.environ.get("PATHWAY_OIDC_REDIRECT_URI", "").strip() or str(call.request.url_for("oidc_callback"))


def login(call: Call) -> Response:
    provider = _provider()
    with call.uow(write=True) as uow:
        url, state = sso.begin(uow, provider, redirect_uri=_redirect_uri(call), now=call.now)
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(STATE_COOKIE, state, max_age=int(sso.LOGIN_TTL.total_seconds()), httponly=True,
                        samesite="lax", secure=call.request.url.scheme == "https", path="/api/oidc")  # fmt: skip
    return response


def oidc_callback(call: Call) -> Response:
    provider = _provider()
    params = call.request.query_params
    with call.uow(write=True) as uow:
        signed = sso.finish(uow, provider, code=params.get("code", ""), state=params.get("state", ""),
                            cookie_state=call.request.cookies.get(STATE_COOKIE, ""),
                            redirect_uri=_redirect_uri(call), now=call.now)  # fmt: skip
    browser = "text/html" in call.request.headers.get("accept", "")
    response: Response = (RedirectResponse("/", status_code=303) if browser  # a person: on to the worklist
                          else JSONResponse({"name": signed.name, "auth": signed.auth, "csrf_token": signed.csrf}))
    secure = call.request.url.scheme == "https"
    response.set_cookie(COOKIE, signed.session_id, httponly=True, samesite="lax", secure=secure, path="/",
                        max_age=int(call.settings.policy.absolute.total_seconds()))  # fmt: skip
    response.delete_cookie(STATE_COOKIE, path="/api/oidc", httponly=True, samesite="lax", secure=secure)
    return response


ROUTES = [
    ApiRoute("GET", "/api/oidc/login", login, "Single sign-on: redirects to the OpenID provider.", signed_in=False,
             status=302),
    ApiRoute("GET", "/api/oidc/callback", oidc_callback, "Single sign-on: the provider's answer; sets the session.",
             signed_in=False, query=("code", "state")),
]  # fmt: skip
