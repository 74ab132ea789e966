"""Importing a caseload from a file: every row judged as `advance` judges it, all or nothing.

Two steps. ``read_file`` reads and hashes the file, checks each row's identity (patient,
side, episode key) and sorts the rows by episode and date in a temporary store; it
touches no database. ``import_rows`` then runs in one write transaction: it refuses a
file imported before, replays each episode's rows with the pure domain core
(``domain.replay``: ``decide`` on an in-memory snapshot, each row judged as of its own
date), writes the episodes it opens in bulk (``db.bulk``) and continues open episodes
already in the database through ``repository.append_event``, as `advance` does. It
commits only when every row was accepted and this is not a dry run: a file imports
completely or not at all.
"""

from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from pathway.clock import site_timezone
from pathway.db import repository as repo
from pathway.db.bulk import SOURCE, Ids, Inserter, Recorded
from pathway.db.models import EpisodeRow, EventRow, FlagRow
from pathway.db.uow import UnitOfWork
from pathway.domain.access import IMPORT, OVERRIDE, advance_action
from pathway.domain.effective import replay as effective_replay
from pathway.domain.patients import CONFLICT, patient_key
from pathway.domain.replay import OPEN
from pathway.domain.rules import RuleSet
from pathway.domain.states import TERMINAL
from pathway.domain.triggers import TRIGGERS
from pathway.errors import AlreadyDone, Conflict, InvalidInput
from pathway.imports import columns
from pathway.imports.blocks import (
    Block,
    Context,
    Continued,
    Judged,
    judge,
    judge_in_worker,
    needs_database,
    opens,
    start_worker,
    still_open,
)
from pathway.imports.readers import Source, open_source, rows
from pathway.imports.store import RowStore
from pathway.services import Actor
from pathway.services.access import held_roles
from pathway.services.episodes import check_patient_ref

_BATCH = 200  # blocks judged together (in one worker task), then checked and written
_PARALLEL_FROM = 20_000  # rows: smaller files are judged in this process


@dataclass
class ReadFile:
    """A file read, hashed and sorted, ready to import (close it when done)."""

    source: Source
    store: RowStore
    rows: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    triggers: set[str] = field(default_factory=set)
    row_overrides: bool = False

    def close(self) -> None:
        self.store.close()
        self.source.close()


class ProgressSink(Protocol):
    """Where progress goes (a terminal bar); the default tells nobody."""

    def start(self, total: int | None, label: str | None = None) -> None: ...
    def advance(self, n: int) -> None: ...


class _Silent:
    def start(self, total: int | None, label: str | None = None) -> None:
        pass

    def advance(self, n: int) -> None:
        pass


def _problem(row: int, patient: int | None, trigger: str, kind: str, reasons: Iterable[str]) -> dict[str, Any]:
    return {"row": row, "patient": patient, "trigger": trigger, "kind": kind, "reasons": list(reasons)}


def read_file(path: Path, fmt: str | None, progress: ProgressSink | None = None, *, name: str | None = None
              ) -> ReadFile:  # fmt: skip
    """Read ``path`` into a sorted store; rows without a usable identity are kept as problems.

    ``name`` is how messages and the report name the file (an upload's own name).
    """
    progress = progress or _Silent()
    checked_ref = lru_cache(maxsize=4096)(check_patient_ref)  # a patient's rows are usually near each other
    spelling: dict[str, str] = {}  # patient key -> the file's first spelling: "mrn-1" after "MRN-1" is that patient
    source = open_source(path, fmt, name=name)
    read = ReadFile(source, RowStore())
    try:
        progress.start(source.size if source.fmt != "xlsx" else None, "reading")
        for number, cells in rows(source, progress.advance):
            read.rows += 1
            trigger = cells.get("trigger", "").strip().lower()
            try:
                who = columns.identity(cells, checked_ref)
            except InvalidInput as exc:
                read.problems.append(_problem(number, None, trigger, "invalid", [exc.message]))
                continue
            read.triggers.add(trigger)
            read.row_overrides |= columns.OVERRIDE_REASON in cells
            day, _ = columns.event_date(cells)
            ref = spelling.setdefault(patient_key(who.patient_ref), who.patient_ref)
            read.store.add(ref, who.side, who.episode_key, day, trigger == OPEN, number, cells)
        if read.rows == 0:
            raise InvalidInput(f"{source.name} has no rows to import below its header.")
    except BaseException:
        read.close()
        raise
    return read


def needed_actions(read: ReadFile, override_reason: str | None) -> list[str]:
    """The rights an import of ``read`` needs: to import, and each trigger in it (and to override)."""
    needed = [IMPORT]
    if OPEN in read.triggers:
        needed.append("episode.open")
    needed += sorted(advance_action(t) for t in read.triggers if t in TRIGGERS)
    if override_reason is not None or read.row_overrides:
        needed.append(OVERRIDE)
    return needed


class _Import:
    """One import's phase in the database: blocks judged (here or in workers), checked, written."""

    def __init__(
        self, uow: UnitOfWork, read: ReadFile, *, rules: RuleSet, override_reason: str | None, actor: Actor,
        now: datetime, progress: ProgressSink,
    ) -> None:  # fmt: skip
        self.session: Session = uow.session
        connection = self.session.connection()
        self.read = read
        self.actor = actor
        self.now = now
        self.progress = progress
        self.ctx = Context(
            rules, now.astimezone(site_timezone()).date(), override_reason, held_roles(self.session, actor.name),
            Recorded(now, actor.name, read.source.sha256), read.source.decimal_comma,
        )  # fmt: skip
        self.ids = Ids(connection)
        self.inserter = Inserter(connection)
        self.problems: list[dict[str, Any]] = list(read.problems)
        self.opened = self.continued = self.overrides = 0
        self.triggers: Counter[str] = Counter()
        self.continuing: dict[tuple[str, str], EpisodeRow] = {}

    def raw_blocks(self) -> Iterator[tuple[str, str, int, list[list[tuple[int, dict[str, str]]]]]]:
        by_patient_side = groupby(self.read.store.sorted(), key=lambda s: (s.patient_ref, s.side))
        for (patient_ref, side), stored in by_patient_side:
            items = list(stored)
            groups = [[(s.row, s.cells) for s in g] for _, g in groupby(items, key=lambda s: s.episode_key)]
            yield patient_ref, side, items[0].patient, groups

    def block(self, patient_ref: str, side: str, patient: int, groups: list[list[tuple[int, dict[str, str]]]],
              ids: list[int]) -> Block:  # fmt: skip
        snapshots: dict[int, Any] = {}
        for index, group in enumerate(groups):
            if all(cells["trigger"].strip().lower() != OPEN for _, cells in group) and not snapshots:
                episode = self.open_episode(patient_ref, side)
                if episode is not None:
                    snapshots[index] = repo.snapshot(self.session, episode)
                    self.continuing[(patient_ref, side)] = episode
        return Block(patient_ref, side, patient, groups, ids, snapshots)

    def open_episode(self, patient_ref: str, side: str) -> EpisodeRow | None:
        return self.session.scalar(
            sa.select(EpisodeRow)
            .where(repo.same_patient(EpisodeRow.patient_key, patient_ref), EpisodeRow.side == side,
                   EpisodeRow.state.not_in(TERMINAL))  # fmt: skip
            .with_for_update()  # as `advance` locks it: a writer meanwhile waits for the import
        )

    def batches(self) -> Iterator[tuple[list[Block], bool]]:
        """Blocks in batches with their episode ids drawn; True when a batch must be judged here
        (it continues episodes of the database, whose snapshots were just read)."""
        batch: list[tuple[str, str, int, list[list[tuple[int, dict[str, str]]]]]] = []
        for raw in self.raw_blocks():
            if needs_database(raw[3]):
                yield [self.block(*raw, self.ids.take(sum(map(opens, raw[3]))))], True
                continue
            batch.append(raw)
            if len(batch) >= _BATCH:
                yield self.drawn(batch), False
                batch = []
        if batch:
            yield self.drawn(batch), False

    def drawn(self, raws: list[tuple[str, str, int, list[list[tuple[int, dict[str, str]]]]]]) -> list[Block]:
        ids = iter(self.ids.take(sum(opens(g) for raw in raws for g in raw[3])))
        return [Block(p, s, n, groups, [next(ids) for g in groups if opens(g)]) for p, s, n, groups in raws]

    # -- one open course of care per patient and side, then writing --------------------

    def settle(self, judged: list[Judged]) -> None:
        asking = [(j.patient_ref, j.side) for j in judged if still_open(j) and not j.continued]
        already = self.open_in_database(asking)
        for j in judged:
            self.progress.advance(sum(len(o.events) for o in j.opened) + len(j.problems)
                                  + sum(len(c.accepted) for c in j.continued))  # fmt: skip
            self.problems += j.problems
            self.check_one_open(j, already.get((j.patient_ref, j.side)))
            if self.problems:
                continue  # nothing will be committed: judge the rest, write nothing more
            for c in j.continued:
                self.write_continued(self.continuing.pop((j.patient_ref, j.side)), c)
            for o in j.opened:
                self.inserter.add(o.episode, o.events, o.flags)
            self.opened += len(j.opened)
            self.triggers += j.triggers
            self.overrides += j.overrides

    def open_in_database(self, asking: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The open episodes of these (patient reference, side) pairs, patients compared by key."""
        if not asking:
            return {}
        e = EpisodeRow.__table__
        keys = {(patient_key(ref), side): (ref, side) for ref, side in asking}
        is_open = e.c.state.not_in(TERMINAL)
        rows = list(self.session.execute(
            sa.select(e.c.patient_key, e.c.side, e.c.id).where(sa.tuple_(e.c.patient_key, e.c.side).in_(keys), is_open)
        ))  # fmt: skip
        # and older clashing episodes, whose key migration 0008 set apart with "#id" (usually none)
        rows += self.session.execute(
            sa.select(e.c.patient_key, e.c.side, e.c.id).where(e.c.patient_key.contains(CONFLICT), is_open)
        ).all()
        found: dict[tuple[str, str], int] = {}
        for r in rows:
            asked = keys.get((r.patient_key.partition(CONFLICT)[0], r.side))
            if asked is not None:
                found.setdefault(asked, r.id)
        return found

    def check_one_open(self, judged: Judged, in_database: int | None) -> None:
        opened = still_open(judged)
        for c in judged.continued:
            in_database = self.continuing[(judged.patient_ref, judged.side)].id if c.state not in TERMINAL else None
        if in_database is not None:
            blamed = opened
            why = (
                f"this patient already has an open episode on the {judged.side} side (episode {in_database}); "
                "leave out the open row to continue that episode, or close it first."
            )
        else:
            ordered = sorted(opened, key=lambda o: (o.referred_on, o.open_row))
            blamed = ordered[:-1]
            why = (
                f"another episode of this patient on the {judged.side} side (opened on row "
                f"{ordered[-1].open_row if ordered else 0}) is also still open at the end of the file; one course of "
                "care per side may be open: close the earlier one."
            )
        for o in blamed:
            judged.refuse(o.open_row, OPEN, "invalid", [why])
            self.problems.append(judged.problems[-1])
            judged.opened.remove(o)

    def write_continued(self, episode: EpisodeRow, continued: Continued) -> None:
        amended = False
        for accepted in continued.accepted:
            d = accepted.decision
            amended |= bool(d.attribute_changes)
            repo.append_event(
                self.session, episode, trigger=d.trigger, from_state=d.from_state, to_state=d.to_state,
                fields=d.fields, occurred_on=d.occurred_on, recorded_at=self.now, actor=self.actor.name,
                role=self.ctx.role(advance_action(d.trigger), d.override_reason is not None), verdicts=d.verdicts,
                override_reason=d.override_reason, overridden=d.overridden, source=SOURCE,
                source_sha256=self.read.source.sha256, source_row=accepted.row,
            )  # fmt: skip
        if amended:  # as after `advance ID amend`: the episode row follows the re-derived history
            self.session.flush()
            records = [repo.recorded(e) for e in repo.events_of(self.session, episode.id)]
            repo.project(self.session, episode, records, effective_replay(records))
        self.continued += 1
        self.session.flush()
        self.session.expunge_all()  # written: keep the session (and memory) small however many are continued

    # -- the whole run -----------------------------------------------------------------

    def run(self, workers: int) -> None:
        self.progress.start(self.read.store.count, "checking")
        if workers < 1:
            for batch, _ in self.batches():
                self.settle([judge(b, self.ctx) for b in batch])
        else:
            self.run_in_workers(workers)
        if not self.problems:
            self.inserter.flush()
            self.session.flush()

    def run_in_workers(self, workers: int) -> None:
        """Judge batches in worker processes while this one writes; a few batches in flight, in order."""
        import multiprocessing
        from concurrent.futures import Future, ProcessPoolExecutor

        # Forked workers run pure functions on the rows they are sent; they never touch this
        # process's database connection, and leave without running its clean-up (os._exit).
        context = multiprocessing.get_context("fork")
        in_flight: deque[Future[list[Judged]]] = deque()
        with ProcessPoolExecutor(workers, mp_context=context, initializer=start_worker,
                                 initargs=(self.ctx,)) as pool:  # fmt: skip
            try:
                for batch, here in self.batches():
                    if here:
                        while in_flight:
                            self.settle(in_flight.popleft().result())
                        self.settle([judge(b, self.ctx) for b in batch])
                        continue
                    in_flight.append(pool.submit(judge_in_worker, batch))
                    if len(in_flight) > 2 * workers:
                        self.settle(in_flight.popleft().result())
                while in_flight:
                    self.settle(in_flight.popleft().result())
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise

    def flags_due(self) -> int:
        f, e = FlagRow.__table__, EventRow.__table__
        imported = sa.select(e.c.episode_id).where(e.c.source_sha256 == self.read.source.sha256).distinct()
        return self.session.execute(
            sa.select(sa.func.count()).where(
                f.c.episode_id.in_(imported), f.c.resolved_at.is_(None), f.c.due_on <= self.ctx.today
            )
        ).scalar_one()


def workers_for(rows: int) -> int:
    """Worker processes for judging: none for small files (starting them costs more than it
    saves), on fewer than four cores or a busy machine, else one per core but the one this
    process writes on; ``PATHWAY_IMPORT_WORKERS`` sets the number (0: judge here)."""
    setting = os.environ.get("PATHWAY_IMPORT_WORKERS", "").strip()
    if setting.isdigit():
        return min(int(setting), 16)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if rows < _PARALLEL_FROM or cores < 4 or os.getloadavg()[0] >= cores - 1:
        return 0  # small, or too few idle cores: on 2 cores workers were measured slower (README)
    return min(cores - 1, 4)


def _earlier_import(session: Session, sha256: str) -> dict[str, Any] | None:
    e = EventRow.__table__
    row = session.execute(
        sa.select(
            sa.func.count(), sa.func.min(e.c.recorded_at), sa.func.min(e.c.actor),
            sa.func.count(sa.distinct(e.c.episode_id)),
        ).where(e.c.source_sha256 == sha256)
    ).one()  # fmt: skip
    if not row[0]:
        return None
    at = row[1] if isinstance(row[1], datetime) else datetime.fromisoformat(str(row[1]))
    return {"events": row[0], "recorded_at": at.isoformat(timespec="seconds"), "actor": row[2], "episodes": row[3]}


def _rule_set(session: Session, version: int | None) -> RuleSet:
    row = repo.rule_set_row(session, version)
    if row.status == "draft":
        raise InvalidInput(
            f"Rule set {row.version} is a draft; episodes are pinned only to rules that have been activated. "
            "Activate it first, or leave out --rules to use the active set."
        )
    return repo.rule_set(session, row.version)


def import_rows(
    uow: UnitOfWork,
    read: ReadFile,
    *,
    actor: Actor,
    now: datetime,
    dry_run: bool = False,
    override_reason: str | None = None,
    rules_version: int | None = None,
    progress: ProgressSink | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Import the rows of ``read`` in this unit of work; commits only a clean, real run.

    ``workers``: processes that judge while this one writes (default: by file size and cores).
    """
    session = uow.session
    rules = _rule_set(session, rules_version)
    source = read.source
    earlier = _earlier_import(session, source.sha256)
    if earlier is not None:
        raise AlreadyDone(
            f"This file was already imported: {earlier['events']} events in {earlier['episodes']} episodes, "
            f"recorded at {earlier['recorded_at']} by {earlier['actor']} (file SHA-256 {source.sha256[:12]}…). "
            "Nothing was imported again.",
        )
    if override_reason is not None:
        override_reason = override_reason.strip() or None
        if override_reason is None:
            raise InvalidInput("--override-reason must not be empty; say why the guideline did not apply.")
    job = _Import(uow, read, rules=rules, override_reason=override_reason, actor=actor, now=now,
                  progress=progress or _Silent())  # fmt: skip
    try:
        job.run(workers_for(read.rows) if workers is None else workers)
        flags_due = 0 if job.problems else job.flags_due()
        if not job.problems and not dry_run:
            uow.commit()
    except (IntegrityError, StaleDataError):
        raise Conflict(
            "Someone else changed one of these patients' episodes, or imported this file, while the import ran; "
            "nothing was imported. Run it again."
        ) from None
    problems = sorted(job.problems, key=lambda p: p["row"])
    by_trigger = job.triggers if not problems else Counter()
    return {
        "file": source.name,
        "format": source.fmt,
        "sha256": source.sha256,
        "dry_run": dry_run,
        "imported": not problems and not dry_run,
        "rules_version": rules.version,
        "rows": read.rows,
        "episodes_opened": job.opened,
        "episodes_continued": job.continued,
        "events": sum(by_trigger.values()),
        "events_by_trigger": {t: by_trigger[t] for t in (OPEN, *TRIGGERS) if by_trigger[t]},
        "overrides": job.overrides,
        "flags_due": flags_due,
        "skipped": dict(source.skipped),
        "rows_refused": len(problems),
        "refused": problems,
    }


def exit_code(report: dict[str, Any]) -> int:
    """0 when the rows went through; 2 when any is invalid or unchecked; else 1 (refused by the rules)."""
    kinds = {p["kind"] for p in report["refused"]}
    if not kinds:
        return 0
    return 2 if kinds & {"invalid", "not_checked"} else 1


def refused_summary(report: dict[str, Any]) -> str:
    """Why nothing was imported, in one paragraph (the CLI's last line, the API's error message)."""
    kinds = [p["kind"] for p in report["refused"]]
    parts = [f"{kinds.count(k)} {label}" for k, label in
             (("refused", "refused by the pathway rules"), ("invalid", "invalid"), ("not_checked", "not checked"))
             if kinds.count(k)]  # fmt: skip
    hint = " A clinician can record historical deviations with --override-reason TEXT." if "refused" in kinds else ""
    return (
        f"Nothing was imported: {report['rows_refused']} of {report['rows']} rows cannot be imported "
        f"({', '.join(parts)}). Fix them and run the import again (with --dry-run to check first).{hint}"
    )
