"""One page request: the signed-in user from the session cookie, the form (bounded), CSRF, rendering.

Pages are the browser's face of the same services the API calls. They differ from the
API in three ways: a visitor who is not signed in is sent to the sign-in page; a form's
CSRF token arrives as a field, not a header; and errors are pages, not JSON. A page
handler that lets a ``PathwayError`` escape gets the error page with the API's status.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pathway.db.uow import Shared, UnitOfWork
from pathway.errors import AccessDenied, InvalidInput, NotFound, PathwayError
from pathway.services import Actor, access
from pathway.services.sign_in import TOUCH_EVERY, NotSignedIn, session_user, touch
from pathway.web.auth import COOKIE
from pathway.web.call import MAX_ID, read_body
from pathway.web.errors import STATUS, TooLarge
from pathway.web.pages.render import render
from pathway.web.settings import Settings

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXPIRED_FORM = "This form has expired or did not come from pathway; reload the page and try again. Nothing was changed."


@dataclass
class View:
    """What a page handler gets: the request, who is signed in, the submitted form."""

    request: Request
    engine: sa.Engine
    settings: Settings
    now: datetime
    form: dict[str, str] = field(default_factory=dict)
    actor: Actor | None = None
    roles: tuple[str, ...] = ()
    csrf: str = ""
    shared: Shared | None = None  # the request's one connection, lent to each unit of work in turn

    def uow(self, *, write: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, write=write, shared=self.shared)

    def authorize(self, uow: UnitOfWork, action: str, *also: str, episode_id: int | None = None,
                  looks_up: bool = False) -> Actor:  # fmt: skip
        assert self.actor is not None
        return access.authorize(uow, self.actor, action, also=also, episode_id=episode_id, now=self.now,
                                looks_up=looks_up)  # fmt: skip

    def can(self, action: str) -> bool:
        """Whether a role held may do ``action`` (to show a link or a box; the service still decides)."""
        return any(action in access.MATRIX[role] for role in self.roles)

    def can_all(self, actions: list[str] | None) -> bool:
        """Whether the roles held grant every one of ``actions`` (None: nothing to offer)."""
        return actions is not None and all(self.can(action) for action in actions)

    def query(self, name: str) -> str | None:
        value = self.request.query_params.get(name, "").strip()
        return value or None

    def path_id(self, name: str = "id") -> int:
        text = str(self.request.path_params[name])
        value = int(text) if text.isascii() and text.isdigit() else -1
        if not 0 <= value <= MAX_ID:
            raise NotFound("There is no such page.")
        return value

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return render(self, template, status=status, **context)

    def redirect(self, path: str) -> Response:
        """After a change: see the result with GET (post/redirect/get); htmx follows the header."""
        if self.request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": path})
        return RedirectResponse(path, status_code=303)


PageHandler = Callable[[View], Response]


def parse_form(body: bytes, content_type: str) -> dict[str, str]:
    """A URL-encoded form as name → value (the last of repeated names); other bodies are refused."""
    kind = content_type.split(";")[0].strip().lower()
    if body and kind != "application/x-www-form-urlencoded":
        raise InvalidInput("Send the form as application/x-www-form-urlencoded, as a browser does.")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=500)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("The form could not be read; reload the page and try again.") from None
    # A repeated name is a set of checkboxes (a field of several choices): kept comma-separated,
    # as the command line takes it.
    return {name: ",".join(values) for name, values in fields.items()}


def _sign_in_again(view: View) -> Response:
    target = view.request.url.path + (f"?{view.request.url.query}" if view.request.url.query else "")
    where = "/login" if target == "/" else f"/login?next={quote(target, safe='')}"
    if view.request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": where})
    return RedirectResponse(where, status_code=303)


def _establish(view: View) -> None:
    """Fill in who is signed in from the session cookie; check the form's CSRF token on a change."""
    secret = view.request.cookies.get(COOKIE)
    if not secret:
        raise NotSignedIn("Not signed in.")
    with view.uow() as uow:
        row = session_user(uow, secret, view.now, view.settings.policy)
        roles = access.held_roles(uow.session, row.user_name) if row is not None else None
    if row is None:
        raise NotSignedIn("The session has ended.")
    if view.request.method in UNSAFE and not hmac.compare_digest(
        view.form.get("csrf_token", "").encode(), row.csrf.encode()
    ):
        raise AccessDenied(EXPIRED_FORM)
    if view.now - row.last_seen_at >= TOUCH_EVERY:
        with view.uow(write=True) as uow:
            touch(uow, row, view.now)
    view.actor, view.roles, view.csrf = Actor(row.user_name, auth=row.auth), tuple(roles or ()), row.csrf


def error_page(view: View, exc: PathwayError) -> HTMLResponse:
    status = 413 if isinstance(exc, TooLarge) else STATUS.get(exc.exit_code, 400)
    return view.page("error.html", status=status, message=exc.message, reasons=exc.details or [], nav=None)


def page(handler: PageHandler, *, signed_in: bool = True) -> Callable[[Request], Any]:
    """A Starlette endpoint running a page handler in the thread pool."""

    async def run(request: Request) -> Response:
        state = request.app.state
        settings: Settings = state.settings
        body, too_large = b"", None
        try:
            body = await read_body(request, settings.max_body) if request.method in UNSAFE else b""
        except TooLarge as exc:
            too_large = exc

        def work() -> Response:
            shared = Shared(state.engine)
            view = View(request, state.engine, settings, settings.clock(), shared=shared)
            try:
                if too_large is not None:
                    raise too_large
                if request.method in UNSAFE:
                    view.form = parse_form(body, request.headers.get("content-type", ""))
                if signed_in:
                    _establish(view)
                return handler(view)
            except NotSignedIn:
                if not signed_in:
                    raise
                return _sign_in_again(view)
            except PathwayError as exc:
                return error_page(view, exc)
            finally:
                shared.close()

        return await run_in_threadpool(work)

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def choice(form: Mapping[str, str], name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None
