"""The API's routes, one module per area; each holds ``ROUTES`` (see ``ApiRoute``)."""

from __future__ import annotations

from dataclasses import dataclass

from pathway.web.call import Handler


@dataclass(frozen=True)
class ApiRoute:
    """One endpoint: method, path, handler, and what the OpenAPI document says of it."""

    method: str
    path: str
    handler: Handler
    summary: str
    signed_in: bool = True
    status: int = 200
    query: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    upload: str | None = None  # the media types of a file body (spooled to disk), e.g. an import
