"""The application factory: API routes, pages, static files, error handlers, security headers, one pooled engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from pathway import __version__
from pathway.web import openapi
from pathway.web.call import Call, endpoint
from pathway.web.errors import HANDLERS
from pathway.web.headers import SecurityHeaders
from pathway.web.pages import ROUTES as PAGES
from pathway.web.pages.view import page
from pathway.web.routes import ApiRoute, audit, corrections, episodes, imports, rules, session, sso, tokens, users, work
from pathway.web.settings import Settings


def _routes() -> list[ApiRoute]:
    table = [*session.ROUTES, *sso.ROUTES, *tokens.ROUTES, *episodes.ROUTES, *corrections.ROUTES, *imports.ROUTES, *work.ROUTES, *audit.ROUTES,
             *rules.ROUTES, *users.ROUTES]

    def spec(_call: Call) -> Any:
        return JSONResponse(openapi.document(table, __version__))

    table.append(ApiRoute("GET", "/api/openapi.json", spec, "This document.", signed_in=False))
    return table


ROUTES = _routes()


def create_app(engine: sa.Engine, settings: Settings | None = None, extra: Sequence[ApiRoute] = ()) -> ASGIApp:
    """The ASGI application over ``engine`` (pooled: see db.engine.create_engine).

    ``extra`` routes are served too but not documented (the benchmark's floor endpoint).
    """
    api = [Route(r.path, endpoint(r.handler, signed_in=r.signed_in, status=r.status, upload=r.upload is not None), methods=[r.method],
                 name=r.handler.__name__) for r in (*ROUTES, *extra)]
    pages = [Route(p.path, page(p.handler, signed_in=p.signed_in), methods=[p.method],
                   name=f"page_{p.handler.__module__.rsplit('.', 1)[-1]}_{p.handler.__name__}") for p in PAGES]
    app = Starlette(
        routes=[*api, *pages, Mount("/static", StaticFiles(packages=[("pathway.web", "static")]), name="static")],
        exception_handlers=HANDLERS,
    )  # fmt: skip
    app.state.engine = engine
    app.state.settings = settings or Settings.from_environment()
    return SecurityHeaders(app)
