"""`db backup`: a consistent copy of a live database.

SQLite: the online backup API copies the database as of one moment while other
processes keep writing; the copy is made in memory, turned into a self-contained
single file (no WAL needed to read it) and written atomically with owner-only
permissions. PostgreSQL: pg_dump, in its custom format, streamed into the same kind
of atomic owner-only file; it dumps the snapshot our own transaction exported, so the
counts reported are those of the dump, and ``pg_restore --list`` reads the result
back before we say it is done. Without pg_dump the command fails (a cron job must not
believe it has a backup) and prints the command to run where pg_dump is installed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from pathway.db.uow import UnitOfWork
from pathway.errors import InvalidInput, Unavailable
from pathway.files import AtomicFile, check_target, writes_through

_CHUNK = 1 << 20
_STREAMED = "not checked (written to a device or pipe, which cannot be read back)"


def backup(uow: UnitOfWork, path: Path, *, overwrite: bool = False) -> dict[str, Any]:
    url = uow.engine.url
    if url.get_backend_name() != "sqlite":
        return _pg_dump(uow.engine, path, overwrite=overwrite)
    target = check_target(path, overwrite=overwrite)
    source = uow.connection.connection.driver_connection
    assert source is not None  # an open SQLite connection
    if target == Path(url.database or "").absolute():
        raise InvalidInput("The backup must not replace the database itself; choose another file.")
    copy = sqlite3.connect(":memory:")
    try:
        source.backup(copy)
        events = copy.execute("SELECT count(*) FROM events").fetchone()[0]
        episodes = copy.execute("SELECT count(*) FROM episodes").fetchone()[0]
        data = bytearray(copy.serialize())
    finally:
        copy.close()
    data[18:20] = b"\x01\x01"  # rollback-journal format: the copy is one self-contained file
    with AtomicFile(target, overwrite=overwrite, fault="backup.before_publish") as out:
        out.write(data)
    if writes_through(target):
        integrity = _STREAMED
    else:
        check = sqlite3.connect(f"file:{quote(str(target))}?mode=ro", uri=True)
        try:
            integrity = check.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            check.close()
    return {
        "backend": "sqlite",
        "written": True,
        "path": str(target),
        "bytes": len(data),
        "episodes": episodes,
        "events": events,
        "integrity": integrity,
    }


def _pg_dump(engine: sa.Engine, path: Path, *, overwrite: bool) -> dict[str, Any]:
    target = check_target(path, overwrite=overwrite)
    program, restore = shutil.which("pg_dump"), shutil.which("pg_restore")
    if program is None:
        raise Unavailable(
            "pg_dump is not installed here (or not on PATH), so no backup was made. Install the PostgreSQL "
            "client tools, or run this where they are (it asks for the password, or reads PGPASSWORD or "
            f"~/.pgpass):\n  {pg_dump_command(engine.url, target)}"
        )
    url = engine.url
    environment = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    dbname = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection, connection.begin():
        snapshot = connection.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
        episodes = connection.execute(sa.text("SELECT count(*) FROM episodes")).scalar_one()
        events = connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one()
        written = 0
        with AtomicFile(target, overwrite=overwrite, fault="backup.before_publish") as out:
            dump = subprocess.Popen(
                [program, "--format=custom", f"--snapshot={snapshot}", f"--dbname={dbname}"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment,
            )  # fmt: skip
            assert dump.stdout is not None and dump.stderr is not None
            while chunk := dump.stdout.read(_CHUNK):
                out.write(chunk)
                written += len(chunk)
            problem = dump.stderr.read().decode(errors="replace").strip()
            if dump.wait() != 0:
                first = problem.splitlines()[0] if problem else f"exit status {dump.returncode}"
                raise InvalidInput(f"pg_dump failed ({first}); no backup was written.")
    integrity = "not checked (pg_restore is not installed)"
    if writes_through(target):
        integrity = _STREAMED
    elif restore is not None:
        check = subprocess.run([restore, "--list", str(target)], capture_output=True)
        integrity = "ok" if check.returncode == 0 else "FAILED: pg_restore cannot read it"
    return {"backend": "postgresql", "written": True, "path": str(target), "bytes": written, "episodes": episodes,
            "events": events, "integrity": integrity, "format": "pg_dump custom"}  # fmt: skip


def pg_dump_command(url: sa.URL, path: Path) -> str:
    """The pg_dump command line for this database, never with its password."""
    words = ["pg_dump", "--format=custom", f"--file={path}"]
    if url.host:
        words.append(f"--host={url.host}")
    if url.port:
        words.append(f"--port={url.port}")
    if url.username:
        words.append(f"--username={url.username}")
    words.append(f"--dbname={url.database}")
    return shlex.join(words)
