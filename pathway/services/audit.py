"""The audit trail: proving it intact, and exporting it for review."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar

import sqlalchemy as sa

from pathway.clock import site_timezone
from pathway.db import access_log, stream
from pathway.db import checkpoints as checkpoint_db
from pathway.db.uow import UnitOfWork
from pathway.domain.user_history import differences, fold
from pathway.domain.verify import verify_episode
from pathway.errors import InvalidInput, NotFound
from pathway.exports import csvfile, fhir, jsonl, records
from pathway.exports.key import load_key
from pathway.exports.records import Period
from pathway.faults import fault_point
from pathway.files import AtomicDirectory, AtomicFile
from pathway.services import Actor
from pathway.services import checkpoints as checkpoint_service

T = TypeVar("T")


def verify(
    uow: UnitOfWork, *, episode_id: int | None = None, checkpoints: Sequence[Path] = (), public_key: str | None = None
) -> dict[str, Any]:
    """Recompute every chain (or one episode's); report the first broken link of each.

    Checking the whole database also checks the access log's chain, that the users and
    roles are what their history says, and that the database extends each checkpoint
    given (signature first); what is wrong outside the episodes is reported in
    ``problems`` as sentences.
    """
    if checkpoints and episode_id is not None:
        raise InvalidInput("--checkpoint covers the whole database; leave out --episode.")
    read = checkpoint_service.read_checkpoints(checkpoints, public_key)
    connection = stream.snapshot(uow.connection)
    revised = stream.revisions(connection, episode_id)
    broken = []
    episodes = events = 0
    for eid, head, chain in stream.chains(connection, episode_id):
        episodes += 1
        events += len(chain)
        found = verify_episode(eid, head, chain, revised.pop(eid, ()))
        if found is not None:
            broken.append(found.as_dict())
    if episode_id is not None and not episodes:
        raise NotFound(f"There is no episode {episode_id}; `pathway episode list` shows the episodes.")
    problems = []
    if episode_id is None:
        problems += access_log.verify(connection)
        recorded = fold(checkpoint_db.user_changes(connection))
        problems += differences(recorded, checkpoint_db.current_users(connection))
        problems += [wrong for _, wrong in read if wrong]
        problems += checkpoint_service.problems(connection, [cp for cp, _ in read if cp is not None])
    data = {"intact": not broken and not problems, "episodes": episodes, "events": events, "broken": broken,
            "problems": problems}  # fmt: skip
    if checkpoints:
        data["checkpoints"] = len(checkpoints)
    return data


class ProgressSink(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, n: int) -> None: ...


FORMATS = ("csv", "jsonl", "fhir")


def export(
    uow: UnitOfWork,
    *,
    fmt: str,
    period: Period,
    out: Path | None,
    identified: bool,
    actor: Actor,
    now: datetime,
    stdout: BinaryIO | None = None,
    progress: ProgressSink | None = None,
) -> dict[str, Any]:
    """Stream the trail (events whose clinical date is in ``period``) to ``out`` or ``stdout``.

    Pseudonymised unless ``identified``; an identified export is first written to the
    access log, in its own committed transaction, so that it is on record even if the
    export then fails or is killed.
    """
    if fmt not in FORMATS:
        raise InvalidInput(f"The export format must be one of {', '.join(FORMATS)}, not {fmt!r}.")
    if period.since and period.until and period.since > period.until:
        raise InvalidInput(f"--since {period.since} is after --until {period.until}; swap them.")
    if fmt == "fhir" and out is None:
        raise InvalidInput("A FHIR export is a folder of NDJSON files: give it with --out FOLDER.")
    key = None if identified else load_key()
    target: AtomicFile | AtomicDirectory | None = None
    if out is not None and fmt == "fhir":
        target = AtomicDirectory(out, fault="export.before_publish", swap_fault="export.before_swap")
    elif out is not None:
        target = AtomicFile(out, fault="export.before_publish")
    summary: dict[str, Any] = {
        "format": fmt,
        "identified": identified,
        "since": period.since.isoformat() if period.since else None,
        "until": period.until.isoformat() if period.until else None,
        "out": str(target.target) if target is not None else "-",
    }
    if identified:
        _log_identified_export(uow.engine, actor, now, summary)
    try:
        return _write(uow, fmt, period, target, key, stdout, progress, summary)
    except OSError as exc:
        where = summary["out"] if target is not None else "standard output"
        raise InvalidInput(
            f"Writing the export to {where} failed ({exc.strerror or exc}); nothing was written. "
            "Free some space or choose another --out, and run it again."
        ) from None


def _write(
    uow: UnitOfWork,
    fmt: str,
    period: Period,
    target: AtomicFile | AtomicDirectory | None,
    key: bytes | None,
    stdout: BinaryIO | None,
    progress: ProgressSink | None,
    summary: dict[str, Any],
) -> dict[str, Any]:
    connection = stream.snapshot(uow.connection)
    read = Period(None, period.until) if fmt == "fhir" else period  # FHIR folds each episode from its start
    if progress is not None:
        progress.start(records.count(connection, read))
    advance = progress.advance if progress is not None else None
    zone = site_timezone()
    if fmt == "fhir":
        assert isinstance(target, AtomicDirectory)
        with target:
            summary["resources"] = fhir.write(target, _mid_stream(records.raw_rows(connection, read)), period,
                                              key=key, site_zone=zone, progress=advance)  # fmt: skip
        summary["events"] = summary["resources"].get("Provenance", 0)
        return summary
    columns, rows = records.records(connection, period, key=key, site_zone=zone)
    rows = _mid_stream(rows)
    writer = csvfile.write if fmt == "csv" else jsonl.write
    if target is None:
        assert stdout is not None
        summary["events"] = writer(stdout, columns, rows, advance)
        stdout.flush()
    else:
        assert isinstance(target, AtomicFile)  # FHIR (a folder) was handled above
        with target as file:
            summary["events"] = writer(file, columns, rows, advance)
    return summary


def _mid_stream(rows: Iterable[T]) -> Iterator[T]:
    """The rows, with the crash tests' ``export.mid_stream`` point once the first has been taken."""
    rows = iter(rows)
    yield from islice(rows, 1)
    fault_point("export.mid_stream")
    yield from rows


def _log_identified_export(engine: sa.Engine, actor: Actor, now: datetime, detail: dict[str, Any]) -> None:
    with UnitOfWork(engine, write=True) as log:
        access_log.append(
            log.session.connection(), at=now, actor=actor.name, role=actor.role,
            action="audit.export.identified", outcome="granted", episode_id=None, detail=detail,
        )  # fmt: skip
        log.commit()
