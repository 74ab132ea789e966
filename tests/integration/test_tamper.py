"""The tamper matrix: each attack of issue 9, scripted against both back ends, is found.

Each attacker has the database owner's rights: the append-only triggers are lifted
first (test_audit_verify.without_triggers) and, where it helps them, they re-hash what
they changed with pathway's own code. Each is found by `audit verify --checkpoint` with
a checkpoint signed before the tampering (or the job repairs it, or every command is
refused); the last tests prove that ordinary use after a checkpoint raises no alarm.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pathway.db import access_log
from pathway.db.models import (
    AccessLogHeadRow,
    AccessLogRow,
    EpisodeRow,
    EventRow,
    FlagRow,
    RevisionRow,
    RuleRow,
    UserChangeRow,
    UserRoleRow,
    UserRow,
)
from pathway.domain.audit import GENESIS
from tests.conftest import Pathway
from tests.integration.test_audit_verify import forged, without_triggers

LOG = AccessLogRow.__table__
E = EventRow.__table__
EP = EpisodeRow.__table__
F = FlagRow.__table__


class Site:
    """Users, a signing key, two episodes, refusals in the access log, and a checkpoint."""

    def __init__(self, pathway: Pathway, engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pathway, self.engine, self.tmp = pathway, engine, tmp_path
        key = tmp_path / "signing.pem"
        self.public_key = pathway.ok("audit", "keygen", "--out", str(key)).stdout.strip()
        monkeypatch.setenv("PATHWAY_SIGNING_KEY_FILE", str(key))
        pathway.ok("--as", "root", "db", "upgrade", "--admin", "adm")
        for name, role in (("cora", "coordinator"), ("rev", "reviewer"), ("cron", "service")):
            pathway.ok("--as", "adm", "user", "add", name, "--role", role)
        self.eid = self.open("MRN-7")
        for trigger, on in (("order_radiographs", "2026-01-06"), ("record_radiographs", "2026-01-08")):
            extra = ("--set", "result=negative") if trigger == "record_radiographs" else ()
            self.as_("cora", "advance", str(self.eid), trigger, "--on", on, *extra)
        with engine.connect() as conn:
            self.rewind_to = dict(conn.execute(sa.select(EP).where(EP.c.id == self.eid)).mappings().one())
        self.as_("cora", "advance", str(self.eid), "order_mri", "--on", "2026-01-09")
        self.other = self.open("MRN-8")
        self.as_("cora", "advance", str(self.other), "order_radiographs", "--on", "2026-01-06")
        for _ in range(3):
            assert pathway("--as", "rev", "advance", str(self.eid), "order_mri", "--on", "2026-01-09").exit_code == 5
        self.checkpoints = [self.checkpoint()]

    def as_(self, user: str, *args: str) -> Any:
        return self.pathway.ok("--as", user, *args)

    def open(self, patient: str) -> int:
        done = self.as_("cora", "--json", "episode", "open", "--patient", patient, "--side", "left",
                        "--referred-on", "2026-01-05")  # fmt: skip
        return int(json.loads(done.stdout)["id"])

    def checkpoint(self) -> Path:
        path = self.tmp / f"checkpoint-{len(getattr(self, 'checkpoints', []))}.json"
        self.as_("cron", "audit", "checkpoint", "--out", str(path))
        return path

    def verify(self, user: str = "adm") -> tuple[int, list[str], str]:
        args = [x for path in self.checkpoints for x in ("--checkpoint", str(path))]
        result = self.pathway("--as", user, "--json", "audit", "verify", *args, "--public-key", self.public_key)
        report = json.loads(result.stdout)
        return result.exit_code, report.get("problems", []), result.output


@pytest.fixture
def site(pathway: Pathway, engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    made = Site(pathway, engine, tmp_path, monkeypatch)
    code, problems, output = made.verify()
    assert (code, problems) == (0, []), output  # untampered: intact
    return made


def plain_verify(site: Site) -> int:
    return int(site.pathway("--as", "adm", "audit", "verify").exit_code)


def test_an_episode_deleted_with_its_events_and_flags(site: Site) -> None:
    with without_triggers(site.engine) as conn:
        for table in (F, RevisionRow.__table__, E):
            conn.execute(sa.delete(table).where(table.c.episode_id == site.other))
        conn.execute(sa.delete(EP).where(EP.c.id == site.other))
    assert plain_verify(site) == 0  # nothing left to contradict it, but:
    code, problems, _ = site.verify()
    assert code == 1 and problems == ["events 1–6 (in append order) were rewritten or removed after checkpoint "
                                      f"{label(site)}."]  # fmt: skip


def label(site: Site) -> str:
    statement = json.loads(site.checkpoints[0].read_text())
    return statement["at"][:16] + "Z"


def test_the_last_event_deleted_and_the_episode_row_rewound(site: Site) -> None:
    with without_triggers(site.engine) as conn:
        last = conn.execute(sa.select(E.c.id).where(E.c.episode_id == site.eid, E.c.seq == 4)).scalar_one()
        conn.execute(sa.delete(F).where(F.c.episode_id == site.eid))
        conn.execute(sa.delete(E).where(E.c.id == last))
        row = {k: v for k, v in site.rewind_to.items() if k != "id"}
        conn.execute(sa.update(EP).where(EP.c.id == site.eid).values(**row))
    assert plain_verify(site) == 0  # a consistent rewind, but:
    code, problems, _ = site.verify()
    assert code == 1 and problems[0].startswith("events 1–6 (in append order) were rewritten or removed")


def test_one_chain_rewritten_consistently_with_the_projects_own_hash_code(site: Site) -> None:
    with without_triggers(site.engine) as conn:
        events = [dict(r) for r in conn.execute(sa.select(E).where(E.c.episode_id == site.eid).order_by(E.c.seq)
                                                ).mappings()]  # fmt: skip
        prev = GENESIS
        for row in events:
            on = row["occurred_on"]
            new = forged(row, prev, **({"occurred_on": on.replace(day=on.day + 1)} if row["seq"] == 3 else {}))
            columns = {k: new[k] for k in ("occurred_on", "prev_hash", "hash")}
            conn.execute(sa.update(E).where(E.c.id == row["id"]).values(**columns))
            prev = new["hash"]
        conn.execute(sa.update(EP).where(EP.c.id == site.eid).values(head_hash=prev))
    assert plain_verify(site) == 0  # every link recomputed, but:
    code, problems, _ = site.verify()
    assert code == 1 and problems[0].startswith("events 1–6 (in append order) were rewritten or removed")


def test_a_rule_value_updated_in_place(site: Site) -> None:
    which = (RuleRow.rule_set_version == 1) & (RuleRow.key == "mri_ifs_max_mm")
    with site.engine.begin() as conn:
        was = conn.execute(sa.select(RuleRow.value).where(which)).scalar_one()
        conn.execute(sa.update(RuleRow).where(which).values(value=was + 7))
    try:
        code, problems, _ = site.verify()
    finally:  # rule set 1 outlives the test on PostgreSQL (tests/conftest.py Backend.fresh)
        with site.engine.begin() as conn:
            conn.execute(sa.update(RuleRow).where(which).values(value=was))
    assert code == 1 and problems == [f"rule set 1 was changed after checkpoint {label(site)}."]


def _logged(site: Site) -> int:
    """How many access-log rows the checkpoint covered (the set-up's user changes, refusals and reads)."""
    with site.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(LOG)).scalar_one())


def test_access_log_rows_deleted_and_the_chain_rebuilt(site: Site) -> None:
    covered = _logged(site)
    with without_triggers(site.engine) as conn:
        kept = [dict(r) for r in conn.execute(sa.select(LOG).order_by(LOG.c.id)).mappings()][1:]
        conn.execute(sa.delete(LOG))
        conn.execute(sa.delete(AccessLogHeadRow.__table__))
        for row in kept:
            access_log.append(conn, **{k: row[k] for k in ("at", "actor", "role", "action", "outcome",
                                                              "episode_id", "detail", "auth")})  # fmt: skip
    assert plain_verify(site) == 0  # a consistent chain again, but:
    code, problems, _ = site.verify()
    assert code == 1 and problems == [f"access log rows 1–{covered} were rewritten or removed after checkpoint "
                                      f"{label(site)}."]  # fmt: skip


def test_access_log_rows_deleted(site: Site) -> None:
    covered = _logged(site)
    with without_triggers(site.engine) as conn:
        conn.execute(sa.delete(LOG).where(LOG.c.id == conn.execute(sa.select(sa.func.min(LOG.c.id))).scalar_one()))
    code, problems, _ = site.verify()
    assert code == 1 and "removed or inserted" in problems[0]
    assert problems[-1].startswith(f"access log rows 1–{covered} were rewritten or removed")


def test_a_deleted_flag_is_brought_back_by_the_job(site: Site) -> None:
    def flags() -> list[tuple]:
        with site.engine.connect() as conn:
            query = sa.select(F.c.episode_id, F.c.kind, F.c.anchor_on, F.c.due_on).where(F.c.resolved_at.is_(None))
            return sorted(tuple(r) for r in conn.execute(query))

    before = flags()
    assert before
    with without_triggers(site.engine) as conn:
        conn.execute(sa.delete(F).where(F.c.episode_id == site.eid, F.c.resolved_at.is_(None)))
    assert flags() != before
    site.as_("cron", "jobs", "flag-overdue")
    assert flags() == before
    assert site.verify()[:2] == (0, [])


def test_a_user_roles_row_inserted(site: Site) -> None:
    with site.engine.begin() as conn:
        conn.execute(sa.insert(UserRoleRow).values(user_name="rev", role="admin", granted_at=sa.func.now(),
                                                   granted_by="adm"))  # fmt: skip
    code, problems, _ = site.verify()
    assert code == 1 and problems == ["user rev holds the roles admin, reviewer, but their recorded changes give "
                                      "reviewer."]  # fmt: skip


def test_every_user_deleted_refuses_every_command(site: Site) -> None:
    with site.engine.begin() as conn:
        conn.execute(sa.delete(UserRoleRow))
        conn.execute(sa.delete(UserRow))
    for user, args in (("adm", ["audit", "verify"]), ("cora", ["episode", "list"]), ("x", ["user", "list"]),
                       ("root", ["db", "upgrade", "--admin", "x"])):  # fmt: skip
        result = site.pathway("--as", user, *args)
        assert result.exit_code == 5 and "never falls back to open mode" in result.stderr, (args, result.output)
    with site.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(UserRow)) == 0


def test_every_user_and_their_history_deleted(site: Site) -> None:
    with without_triggers(site.engine) as conn:
        for table in (UserRoleRow, UserRow, UserChangeRow):
            conn.execute(sa.delete(table))
    code, problems, _ = site.verify("anyone")  # open mode again, but:
    assert code == 1 and problems == [f"user changes 1–4 (the history of users and roles) were rewritten or removed "
                                      f"after checkpoint {label(site)}."]  # fmt: skip


def test_a_forged_checkpoint_is_found(site: Site) -> None:
    statement = json.loads(site.checkpoints[0].read_text())
    statement["events"]["size"] = 1
    site.checkpoints[0].write_text(json.dumps(statement))
    code, problems, _ = site.verify()
    assert code == 1 and problems == [f"checkpoint {site.checkpoints[0]}: its signature does not hold: the statement "
                                      "was changed after it was signed."]  # fmt: skip


def test_ordinary_use_after_a_checkpoint_raises_no_alarm(site: Site) -> None:
    site.as_("cora", "advance", str(site.other), "record_radiographs", "--on", "2026-01-08", "--set", "result=negative")
    site.as_("cora", "correct", str(site.other), "3", "--set", "result=equivocal", "--reason", "mis-keyed")
    rules = site.tmp / "v2.toml"
    site.as_("rev", "rules", "export", "1", "--out", str(rules))
    rules.write_text(rules.read_text().replace("value = 42", "value = 84"))
    site.as_("adm", "rules", "new", "--from", str(rules))
    site.checkpoints.append(site.checkpoint())  # rule set 2 is a draft here, and may still change
    site.as_("adm", "rules", "activate", "2")
    site.as_("adm", "user", "add", "kim", "--role", "clinician")
    site.as_("adm", "user", "add", "kim", "--role", "reviewer")
    site.as_("adm", "user", "disable", "rev")
    site.as_("adm", "user", "enable", "rev")
    site.as_("cron", "jobs", "flag-overdue")
    assert site.pathway("--as", "rev", "user", "list").exit_code == 5
    site.checkpoints.append(site.checkpoint())
    site.as_("cora", "advance", str(site.eid), "record_mri", "--on", "2026-01-20", "--set", "ifs_mm=12",
             "--set", "qfs_mm=8", "--set", "qf_edema=true", "--set", "qf_fatty_replacement=false")  # fmt: skip
    code, problems, output = site.verify()
    assert (code, problems) == (0, []), output
    with site.engine.connect() as conn:
        changes = conn.execute(sa.select(UserChangeRow.change).where(UserChangeRow.user_name == "rev")
                               .order_by(UserChangeRow.id)).scalars().all()  # fmt: skip
    assert changes == ["added", "disabled", "enabled"]  # enabling did not erase the disable


@pytest.mark.postgres_only
def test_a_checkpoint_waits_for_an_append_that_began_before_it(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids come from a sequence in insert order, not commit order: an event inserted (id N) but
    committed after a later one (id N+1) must not be missed by a checkpoint taken in between."""
    import threading
    from datetime import UTC, datetime

    from pathway.db.uow import UnitOfWork
    from pathway.services import Actor
    from pathway.services.checkpoints import create

    def extra_event(conn: sa.Connection, seq: int) -> None:
        row = dict(conn.execute(sa.select(E).where(E.c.episode_id == site.other, E.c.seq == 1)).mappings().one())
        del row["id"]
        conn.execute(sa.insert(E).values(**{**row, "seq": seq}))

    early = site.engine.connect()
    early_tx = early.begin()
    extra_event(early, 50)  # takes the smaller id, commits last
    with site.engine.begin() as late:
        extra_event(late, 51)
    taken: dict[str, object] = {}

    def checkpoint() -> None:
        with UnitOfWork(site.engine, write=True) as uow:
            taken.update(create(uow, actor=Actor("cron"), now=datetime.now(UTC), out=None, stdout=None))

    thread = threading.Thread(target=checkpoint)
    thread.start()
    with site.engine.connect() as watch:  # the checkpoint queues for its lock behind the open append
        waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted AND mode = 'ShareLock'"
        while not watch.execute(sa.text(waiting)).scalar() and thread.is_alive():
            watch.rollback()
    early_tx.commit()
    early.close()
    thread.join()
    with site.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(E)).scalar()
    assert taken["events"] == {"size": total, "root": taken["events"]["root"]}  # type: ignore[index]
