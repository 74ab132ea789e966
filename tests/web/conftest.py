"""A real uvicorn server on 127.0.0.1 (a free port) over each test's database, with a clock the test moves."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from pathway.clock import now_utc
from pathway.db.engine import create_engine, resolve_url
from pathway.web.app import create_app
from pathway.web.settings import Settings
from tests.conftest import Pathway

ROLES = ("coordinator", "clinician", "reviewer", "service", "admin")
USER_OF = {"coordinator": "kim", "clinician": "cleo", "reviewer": "rey", "service": "cron", "admin": "amira"}
PASSWORD = "correct horse battery staple"


class Clock:
    """The server's clock: starts at the real time; tests move it on instead of sleeping."""

    def __init__(self) -> None:
        self.now = now_utc()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Site:
    url: str
    clock: Clock
    pathway: Pathway
    engine: sa.Engine
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, role: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def as_(self, role: str) -> httpx.Client:
        return self.client(role)


def _users(pathway: Pathway) -> dict[str, str]:
    pathway.ok("--as", "amira", "db", "upgrade", "--admin", "amira")
    for role, name in USER_OF.items():
        if role != "admin":
            pathway.ok("--as", "amira", "user", "add", name, "--role", role)
    return {role: pathway.json("--as", "amira", "user", "token", "create", name)["token"]
            for role, name in USER_OF.items()}  # fmt: skip


@pytest.fixture
def site(db_url: str) -> Iterator[Site]:
    pathway = Pathway(db_url)
    tokens = _users(pathway)
    clock = Clock()
    engine = create_engine(resolve_url(db_url)[0], pooled=True)
    port = free_port()
    config = uvicorn.Config(create_app(engine, Settings(clock=clock, max_body=100_000)), host="127.0.0.1",
                            port=port, log_level="critical", lifespan="off", proxy_headers=True,
                            forwarded_allow_ips="127.0.0.1")  # as `pathway serve` behind a local proxy  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # start-up, not the behaviour under test: a bounded wait for the socket
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        site = Site(f"http://127.0.0.1:{port}", clock, pathway, engine, tokens)
        for role in ROLES:  # each token's first use notes it (last_used_at); later ones, within the minute, do not
            with site.as_(role) as client:
                assert client.get("/api/me").status_code == 200
        yield site
    finally:
        server.should_exit = True
        thread.join(30)
        engine.dispose()
