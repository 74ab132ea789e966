"""Signing in and out in the browser: the same sessions as ``POST /api/session``.

The sign-in form carries its own CSRF token (a random value in a short-lived cookie,
echoed in the form), so another site cannot sign a visitor in as someone else.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.responses import RedirectResponse, Response

from pathway.services.sign_in import NotSignedIn, sign_in, sign_out
from pathway.services.single_sign_on import Provider
from pathway.web.auth import COOKIE
from pathway.web.pages.view import EXPIRED_FORM, View

LOGIN_COOKIE = "pathway_login"


def _secure(view: View) -> bool:
    return view.request.url.scheme == "https"


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _form(view: View, *, name: str = "", problem: str | None = None, status: int = 200, ended: str | None = None
          ) -> Response:  # fmt: skip
    token = secrets.token_urlsafe(24)
    response = view.page("login.html", status=status, name=name, problem=problem, ended=ended, login_token=token,
                         next=safe_next(view.form.get("next") or view.query("next")),
                         sso=Provider.from_environment() is not None, nav="login")  # fmt: skip
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict", secure=_secure(view),
                        path="/login")  # fmt: skip
    return response


def login_page(view: View) -> Response:
    """The sign-in form (password, and single sign-on when configured)."""
    ended = "You were signed out." if view.query("signed_out") else None
    return _form(view, ended=ended)


def login(view: View) -> Response:
    """Check the name and password; on success a new session and off to where the visitor was going."""
    name, password = view.form.get("name", "").strip(), view.form.get("password", "")
    expected = view.request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(view.form.get("csrf_token", "").encode(), expected.encode()):
        return _form(view, name=name, problem=EXPIRED_FORM, status=403)
    if not name or not password:
        return _form(view, name=name, problem="Enter your user name and your password.", status=400)
    try:
        with view.uow(write=True) as uow:
            signed = sign_in(uow, name=name, password=password, now=view.now, policy=view.settings.policy)
    except NotSignedIn as exc:
        return _form(view, name=name, problem=exc.message, status=401)
    response = RedirectResponse(safe_next(view.form.get("next")), status_code=303)
    response.set_cookie(COOKIE, signed.session_id, httponly=True, samesite="lax", secure=_secure(view), path="/",
                        max_age=int(view.settings.policy.absolute.total_seconds()))  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path="/login", httponly=True, samesite="strict", secure=_secure(view))
    return response


def logout(view: View) -> Response:
    """End the session (the form carries the CSRF token, so no other site can sign anyone out)."""
    secret = view.request.cookies.get(COOKIE)
    if secret:
        with view.uow(write=True) as uow:
            sign_out(uow, secret=secret, now=view.now)
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(view))
    return response
