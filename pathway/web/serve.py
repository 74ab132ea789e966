"""What each uvicorn worker imports: the application over a pooled engine for the served database."""

from __future__ import annotations

import os

from starlette.types import ASGIApp

from pathway.db.engine import create_engine, resolve_url
from pathway.web.app import create_app


def application() -> ASGIApp:
    url, _ = resolve_url(os.environ["PATHWAY_SERVE_DATABASE_URL"])
    return create_app(create_engine(url, create=False, pooled=True))
