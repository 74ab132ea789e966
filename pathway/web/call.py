"""One API call: read the body (bounded), establish who is calling, run the handler in a thread.

Handlers are plain functions of a ``Call``; ``endpoint`` turns one into a Starlette
endpoint that reads at most ``max_body`` bytes, then authenticates and runs the handler
in the thread pool, so database work and password checks never block the event loop.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pathway.db.uow import Shared, UnitOfWork
from pathway.errors import InvalidInput, NotFound
from pathway.services import Actor, access
from pathway.web.auth import authenticate
from pathway.web.errors import TooLarge
from pathway.web.settings import Settings

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_ID = 2**31 - 1


@dataclass
class Call:
    request: Request
    engine: sa.Engine
    settings: Settings
    now: datetime
    body: bytes = b""
    actor: Actor | None = None
    cookies: dict[str, str] = field(default_factory=dict)
    upload: Path | None = None  # an upload route's body, spooled to a temporary file (gone after the call)
    shared: Shared | None = None  # the request's one connection, lent to each unit of work in turn

    def uow(self, *, write: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, write=write, shared=self.shared)

    def authorize(self, uow: UnitOfWork, action: str, *also: str, episode_id: int | None = None,
                  log_grant: bool = False, looks_up: bool = False) -> Actor:  # fmt: skip
        assert self.actor is not None
        return access.authorize(uow, self.actor, action, also=also, episode_id=episode_id, now=self.now,
                                log_grant=log_grant, looks_up=looks_up)  # fmt: skip

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or exit 2 saying what is wrong.

        Only with ``Content-Type: application/json``: a page elsewhere cannot send that
        without the browser asking first, so a cross-site form cannot sign anyone in.
        """
        kind = self.request.headers.get("content-type", "").split(";")[0].strip().lower()
        if self.body and kind != "application/json":
            raise InvalidInput("Send the request body as JSON, with Content-Type: application/json.")
        try:
            data = json.loads(self.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput("The request body is not JSON; send a JSON object.") from None
        if not isinstance(data, dict):
            raise InvalidInput("The request body must be a JSON object.")
        return data

    def query(self, name: str) -> str | None:
        value = self.request.query_params.get(name)
        return value if value not in (None, "") else None

    def path_id(self, name: str = "id") -> int:
        """A whole-number path parameter; beyond any stored id it is simply not found."""
        text = self.request.path_params[name]
        value = int(text) if str(text).isascii() and str(text).isdigit() else -1
        if not 0 <= value <= MAX_ID:
            what = {"id": "episode", "seq": "event", "token": "token"}.get(name, "rule set")
            raise NotFound(f"There is no {what} {str(text)[:20]}.")
        return value


Handler = Callable[[Call], Any]


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"The request body is over {limit} bytes; send less.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"The request body is over {limit} bytes; send less.")
        chunks.append(chunk)
    return b"".join(chunks)


async def spool(request: Request, limit: int, into: IO[bytes]) -> None:
    """Stream a file upload to disk (never whole in memory), refusing it past ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"The file is over {limit} bytes; split it into smaller files.")
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"The file is over {limit} bytes; split it into smaller files.")
        await run_in_threadpool(into.write, chunk)
    into.flush()


def endpoint(handler: Handler, *, signed_in: bool = True, status: int = 200, upload: bool = False
             ) -> Callable[[Request], Any]:  # fmt: skip
    """A Starlette endpoint running ``handler``; a dict or list it returns is sent as JSON.

    An ``upload`` route authenticates before it takes the body, then spools the body to a
    temporary file (``call.upload``) of at most ``settings.max_upload`` bytes.
    """

    async def run(request: Request) -> Response:
        state = request.app.state
        settings: Settings = state.settings

        def work(body: bytes, actor: Actor | None, uploaded: Path | None) -> Response:
            shared = Shared(state.engine)
            call = Call(request, state.engine, settings, settings.clock(), body, upload=uploaded, shared=shared)
            try:
                if actor is not None:
                    call.actor = actor
                elif signed_in:
                    call.actor = authenticate(call.engine, request, call.now, settings.policy, shared)
                result = handler(call)
            finally:
                shared.close()
            return result if isinstance(result, Response) else JSONResponse(result, status_code=status)

        if upload:
            actor = await run_in_threadpool(authenticate, state.engine, request, settings.clock(), settings.policy)
            with tempfile.NamedTemporaryFile(prefix="pathway-upload-") as into:  # owner-only, removed at close
                await spool(request, settings.max_upload, into)
                return await run_in_threadpool(work, b"", actor, Path(into.name))
        body = await read_body(request, settings.max_body) if request.method in UNSAFE else b""
        return await run_in_threadpool(work, body, None, None)

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run
