"""The server's pooled PostgreSQL connections: checked before use only after sitting idle."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from pathway.db import engine as engine_module
from pathway.db.engine import PING_AFTER_IDLE_S, create_engine, resolve_url
from tests.conftest import Backend


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


pytestmark = pytest.mark.postgres_only  # SQLite's connections are files, with no socket to drop


@pytest.fixture
def pooled(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[sa.Engine, Clock]]:
    clock = Clock()
    monkeypatch.setattr(engine_module, "time", clock)
    engine = create_engine(resolve_url(db_url)[0], pooled=True)
    yield engine, clock
    engine.dispose()


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _kill(backend: Backend, pid: int) -> None:
    assert backend.admin is not None
    with backend.admin.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()


def test_a_connection_dropped_while_idle_is_replaced_before_a_request_uses_it(
    pooled: tuple[sa.Engine, Clock], backend: Backend
) -> None:
    engine, clock = pooled
    first = _backend_pid(engine)
    _kill(backend, first)  # the database restarted, or a firewall dropped the idle socket
    clock.now += PING_AFTER_IDLE_S + 0.5
    assert _backend_pid(engine) != first  # no error reached the caller


def test_a_connection_used_a_moment_ago_is_not_pinged(
    pooled: tuple[sa.Engine, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, clock = pooled
    pings: list[object] = []
    real = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(conn) or real(conn))
    first = _backend_pid(engine)
    clock.now += PING_AFTER_IDLE_S / 2
    assert _backend_pid(engine) == first
    assert pings == []  # a busy server pays no round trip per request for it
    clock.now += PING_AFTER_IDLE_S * 2
    assert _backend_pid(engine) == first
    assert len(pings) == 1
