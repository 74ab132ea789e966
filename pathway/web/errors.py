"""Errors as HTTP responses: the CLI's ``{"error": {...}}`` body, a status mapped from its exit code.

Never a stack trace: anything unexpected is a 500 with one sentence, and the details
go to the server's log only.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pathway.errors import InvalidInput, PathwayError, Refused
from pathway.services.sign_in import NotSignedIn

STATUS = {1: 422, 2: 400, 3: 404, 4: 409, 5: 403, 69: 503}
log = logging.getLogger("pathway.web")


class TooLarge(InvalidInput):
    """A request body over the limit: HTTP 413."""


def body(exit_code: int, message: str, reasons: list[str] | None = None) -> dict[str, Any]:
    return {"error": {"exit_code": exit_code, "message": message, "reasons": reasons or []}}


def pathway_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PathwayError)
    message = exc.message
    if isinstance(exc, Refused) and exc.overridable:
        message += " To go ahead anyway, a clinician can repeat the call with an override_reason."
    status = 401 if isinstance(exc, NotSignedIn) else 413 if isinstance(exc, TooLarge) else STATUS.get(
        exc.exit_code, 400)
    headers = {"WWW-Authenticate": 'Bearer realm="pathway"'} if status == 401 else None
    return JSONResponse(body(exc.exit_code, message, exc.details), status_code=status, headers=headers)


def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", ""):
        return _page(exc)  # a person who followed a wrong link: a page, not JSON
    exit_code = {404: 3, 405: 2, 413: 2, 401: 5, 403: 5}.get(exc.status_code, 2)
    return JSONResponse(body(exit_code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


def _page(exc: HTTPException) -> Response:
    from starlette.responses import HTMLResponse

    from pathway.web.pages.render import environment

    message = "There is no such page here." if exc.status_code == 404 else str(exc.detail)
    html = environment().get_template("error.html").render(view=None, user=None, roles=(), csrf="", idle_seconds=0,
                                                           message=message, reasons=[], nav=None)  # fmt: skip
    return HTMLResponse(html, status_code=exc.status_code, headers=exc.headers)


def unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, DBAPIError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return pathway_error(request, InvalidInput(f"The database reported an error: {reason}. Nothing was changed."))
    log.exception("internal error on %s %s", request.method, request.url.path)
    return JSONResponse(body(70, f"Internal error ({type(exc).__name__}); nothing was changed. "
                                 "The server's log has the details."), status_code=500)  # fmt: skip


HANDLERS: dict[Any, Any] = {PathwayError: pathway_error, HTTPException: http_error, DBAPIError: unexpected,
                            Exception: unexpected}  # fmt: skip
