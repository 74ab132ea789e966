"""Episodes and events in the database: one transaction, hash chain, the episode lock, optimistic locking."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from pathway.db import repository as repo
from pathway.db.models import EpisodeRow, EventRow
from pathway.db.uow import UnitOfWork
from pathway.errors import Conflict, InvalidInput, Refused
from pathway.services import Actor
from pathway.services.advance import advance
from pathway.services.episodes import open_episode
from tests.chains import chain_ok

NOW = datetime(2026, 6, 1, 9, 30, 15, 123456, tzinfo=UTC)
ACTOR = Actor("coordinator-a")


def _open(engine: sa.Engine) -> int:
    with UnitOfWork(engine, write=True) as uow:
        return open_episode(uow, patient_ref="MRN-1", side="left", referred_on=date(2026, 5, 1),
                            has_hip_arthroplasty=False, actor=ACTOR, now=NOW)  # fmt: skip


def _advance(engine: sa.Engine, eid: int, trigger: str, **kw) -> dict:  # type: ignore[no-untyped-def]
    kw.setdefault("assignments", [])
    kw.setdefault("occurred_on", date(2026, 5, 2))
    with UnitOfWork(engine, write=True) as uow:
        return advance(uow, episode_id=eid, trigger=trigger, override_reason=kw.pop("override_reason", None),
                       actor=ACTOR, now=NOW, **kw)  # fmt: skip


def test_events_are_chained_and_round_trip_exactly(engine: sa.Engine) -> None:
    eid = _open(engine)
    _advance(engine, eid, "order_mri", override_reason="radiographs done at another hospital")
    mri = ["ifs_mm=12.5", "qfs_mm=7.25", "qf_edema=true", "qf_fatty_replacement=false", "positioning=neutral ünïcode"]
    _advance(engine, eid, "record_mri", assignments=mri)
    assert chain_ok(engine, eid)
    with UnitOfWork(engine) as uow:
        events = repo.events_of(uow.session, eid)
        assert events[-1].recorded_at == NOW
        assert events[-1].fields["qfs_mm"] == 7.25
        assert events[1].overridden_guards == ["radiographs_first"]
        assert events[1].guards[0]["passed"] is False


def test_a_refusal_writes_nothing(engine: sa.Engine) -> None:
    eid = _open(engine)
    with pytest.raises(Refused):
        _advance(engine, eid, "order_mri")
    with pytest.raises(InvalidInput):
        _advance(engine, eid, "record_mri")
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(EventRow)) == 1
        assert conn.scalar(sa.select(EpisodeRow.version)) == 1


def test_a_stale_write_is_refused_and_loses_nothing(engine: sa.Engine) -> None:
    """A copy of the episode loaded at version 1 cannot be written after version 2."""
    eid = _open(engine)
    with UnitOfWork(engine) as reader:
        stale = repo.get_episode(reader.session, eid)
        reader.session.expunge(stale)
    _advance(engine, eid, "order_radiographs")  # someone else commits version 2
    with UnitOfWork(engine, write=True) as writer:
        writer.session.add(stale)
        repo.append_event(writer.session, stale, trigger="close", from_state="referred", to_state="closed",
                          fields={"reason": "withdrawn"}, occurred_on=date(2026, 5, 3), recorded_at=NOW,
                          actor="coordinator-b", role=None)  # fmt: skip
        with pytest.raises(StaleDataError):
            writer.commit()
    with UnitOfWork(engine) as uow:
        episode = repo.get_episode(uow.session, eid)
        assert (episode.state, episode.version) == ("radiographs_ordered", 2)
    assert chain_ok(engine, eid)


@pytest.mark.postgres_only  # SQLite's BEGIN IMMEDIATE already makes the second writer wait for the first
def test_a_second_writer_waits_and_is_judged_on_the_state_it_follows(engine: sa.Engine) -> None:
    """Another coordinator writes while we hold the episode: they wait for our commit (the row is
    locked before judging), then are judged on the state we left, not refused with exit 4."""
    eid = _open(engine)
    outcome: list[BaseException | dict] = []

    def other() -> None:
        try:
            outcome.append(_advance(engine, eid, "order_radiographs"))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    second = threading.Thread(target=other)

    def start_the_other_writer(session, _context, _instances):  # type: ignore[no-untyped-def]
        if not second.is_alive() and not outcome:
            second.start()
            with engine.connect() as probe:  # bounded wait until the other writer is blocked on our lock
                for _ in range(2000):
                    waiting = probe.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                                   "current_database() AND wait_event_type = 'Lock'"))
                    if waiting:
                        break
                    probe.rollback()
                assert waiting, "the second writer should wait for the episode's lock"

    event.listen(Session, "before_flush", start_the_other_writer)
    try:
        mine = _advance(engine, eid, "order_mri", override_reason="urgent")
    finally:
        event.remove(Session, "before_flush", start_the_other_writer)
    second.join(timeout=60)
    assert mine["state"] == "mri_ordered" and mine["version"] == 2
    assert len(outcome) == 1 and isinstance(outcome[0], InvalidInput), outcome
    assert "not possible from state mri_ordered" in outcome[0].message  # judged on the state it follows
    with UnitOfWork(engine) as uow:
        episode = repo.get_episode(uow.session, eid)
        assert (episode.state, episode.version) == ("mri_ordered", 2)
    assert chain_ok(engine, eid)


def test_expect_version_refuses_with_conflict(engine: sa.Engine) -> None:
    eid = _open(engine)
    _advance(engine, eid, "order_radiographs", expect_version=1)
    with pytest.raises(Conflict, match="at version 2, not 1"):
        _advance(engine, eid, "record_radiographs", assignments=["result=negative"], expect_version=1)
    with UnitOfWork(engine) as uow:
        assert repo.get_episode(uow.session, eid).version == 2
