"""`db backup`: a consistent copy of a live database.

SQLite: the online backup API copies the database as of one moment while other
processes keep writing; the copy is made in memory, turned into a self-contained
single file (no WAL needed to read it) and written atomically with owner-only
permissions. PostgreSQL: pg_dump is the right tool, so we say how to run it.
"""

from __future__ import annotations

import shlex
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pathway.db.uow import UnitOfWork
from pathway.errors import InvalidInput
from pathway.files import AtomicFile, check_target


def backup(uow: UnitOfWork, path: Path, *, overwrite: bool = False) -> dict[str, Any]:
    url = uow.engine.url
    if url.get_backend_name() != "sqlite":
        return {"backend": "postgresql", "written": False, "command": pg_dump_command(uow, path)}
    target = check_target(path, overwrite=overwrite)
    source = uow.connection.connection.driver_connection
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


def pg_dump_command(uow: UnitOfWork, path: Path) -> str:
    """The pg_dump command line for this database, never with its password."""
    url = uow.engine.url
    words = ["pg_dump", "--format=custom", f"--file={check_target(path, overwrite=True)}"]
    if url.host:
        words.append(f"--host={url.host}")
    if url.port:
        words.append(f"--port={url.port}")
    if url.username:
        words.append(f"--username={url.username}")
    words.append(f"--dbname={url.database}")
    return shlex.join(words)
