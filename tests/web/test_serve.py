"""`pathway serve` itself: a real process, several workers, answering on its port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import Pathway
from cli import cli
from tests.web.conftest import PASSWORD, free_port

ROOT = Path(__file__).resolve().parents[2]


def test_pathway_serve_runs_workers_that_share_the_database(pathway: Pathway) -> None:
    pathway.ok("--as", "amira", "db", "upgrade", "--admin", "amira")
    done = pathway.runner.invoke(cli, ["--db", pathway.url, "--as", "amira", "user", "password", "amira", "--stdin"],
                                 input=PASSWORD + "\n")  # fmt: skip
    assert done.exit_code == 0, done.output
    token = pathway.json("--as", "amira", "user", "token", "create", "amira")["token"]
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", "--db", pathway.url, "serve", "--port", str(port),
         "--workers", "2"],
        cwd=ROOT, env={**os.environ, "PATHWAY_DEBUG": ""}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}) as c:
            while True:  # start-up of the process, not the behaviour under test: a bounded wait for the port
                try:
                    health = c.get("/api/health")
                    break
                except httpx.TransportError:
                    assert process.poll() is None and time.monotonic() < deadline, "pathway serve did not start"
                    time.sleep(0.1)
            assert health.json()["schema_current"] is True
            assert "server" not in health.headers
            answers = {c.get("/api/me").json()["name"] for _ in range(10)}  # spread over both workers
            assert answers == {"amira"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as browser:  # a session made by one worker
            signed = browser.post("/api/session", json={"name": "amira", "password": PASSWORD})
            assert signed.status_code == 201
            for _ in range(10):  # each call on a new connection: any worker may answer, all know the session
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", cookies=browser.cookies) as fresh:
                    assert fresh.get("/api/me").json()["auth"] == "password"
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=60)
    assert "Serving" in err and "Traceback" not in err
