"""Crash injection for tests: run `pathway` in a real process that SIGKILLs itself at a named point.

The points are `pathway.faults.fault_point` calls (PATHWAY_FAULT=<name>); see that module.
A test typically takes ``dump(engine)`` (and lists the output folder), runs the command with
``killed_at``, and asserts that nothing changed and every chain still verifies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

EXE = Path(sys.executable).with_name("pathway")


def run_pathway(url: str, *args: str, user: str = "tester", fault: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATHWAY_DATABASE_URL": url, "PATHWAY_USER": user, "PATHWAY_TIMEZONE": "UTC"}
    env.pop("PATHWAY_FAULT", None)
    if fault:
        env["PATHWAY_FAULT"] = fault
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, env=env, timeout=120)


def killed_at(point: str, url: str, *args: str, user: str = "tester") -> subprocess.CompletedProcess:
    """Run ``pathway ARGS`` until it reaches fault point ``point``; it must die there by SIGKILL."""
    done = run_pathway(url, *args, user=user, fault=point)
    assert done.returncode == -signal.SIGKILL, (point, done.returncode, done.stderr)
    return done


def locks_released(engine: sa.Engine) -> None:
    """Wait until no transaction holds a row of episodes or flags: on PostgreSQL a killed client's
    transaction ends only when the server notices the closed connection, and until then the
    job's SKIP LOCKED would pass over its rows. (SQLite's locks die with the process.)"""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT 1 FROM episodes FOR UPDATE"))
        conn.execute(sa.text("SELECT 1 FROM flags FOR UPDATE"))
