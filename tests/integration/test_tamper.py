"""The tamper matrix: each attack of issue 9, scripted against both back ends, is found.

Each attacker has the database owner's rights: the append-only triggers are lifted
first (see test_audit_verify.without_triggers). Every test also proves the untampered
database verifies, so that none can pass by always failing.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from pathway.db.models import AccessLogRow
from tests.conftest import Pathway
from tests.integration.test_audit_verify import without_triggers

LOG = AccessLogRow.__table__


def site(pathway: Pathway) -> int:
    """Users, refusals in the access log, and episodes."""
    pathway.ok("--as", "root", "db", "upgrade", "--admin", "adm")
    pathway.ok("--as", "adm", "user", "add", "cora", "--role", "coordinator")
    pathway.ok("--as", "adm", "user", "add", "rev", "--role", "reviewer")
    eid = build_as(pathway)
    for _ in range(3):
        assert pathway("--as", "rev", "advance", str(eid), "order_mri", "--on", "2026-01-09").exit_code == 5
    return eid


def build_as(pathway: Pathway) -> int:
    eid = pathway.json("--as", "cora", "episode", "open", "--patient", "MRN-7", "--side", "left",
                       "--referred-on", "2026-01-05")["id"]  # fmt: skip
    pathway.ok("--as", "cora", "advance", str(eid), "order_radiographs", "--on", "2026-01-06")
    return eid


def verify(pathway: Pathway, *args: str) -> tuple[int, dict]:
    result = pathway("--as", "adm", "--json", "audit", "verify", *args)
    return result.exit_code, json.loads(result.stdout) if result.stdout else {}


def test_an_untampered_access_log_verifies(pathway: Pathway) -> None:
    site(pathway)
    code, report = verify(pathway)
    assert (code, report["problems"]) == (0, [])


def test_deleted_access_log_rows_are_found(pathway: Pathway, engine: sa.Engine) -> None:
    site(pathway)
    with without_triggers(engine) as conn:
        second = conn.execute(sa.select(LOG.c.id).order_by(LOG.c.id).offset(1).limit(1)).scalar_one()
        conn.execute(sa.delete(LOG).where(LOG.c.id == second))
    code, report = verify(pathway)
    assert code == 1 and "removed" in report["problems"][0]


def test_the_last_access_log_row_deleted_is_found(pathway: Pathway, engine: sa.Engine) -> None:
    site(pathway)
    with without_triggers(engine) as conn:
        last = conn.execute(sa.select(sa.func.max(LOG.c.id))).scalar_one()
        conn.execute(sa.delete(LOG).where(LOG.c.id == last))
    code, report = verify(pathway)
    assert code == 1 and "the last rows were removed" in report["problems"][0]


def test_an_edited_access_log_row_is_found(pathway: Pathway, engine: sa.Engine) -> None:
    site(pathway)
    with without_triggers(engine) as conn:
        conn.execute(sa.update(LOG).where(LOG.c.outcome == "refused").values(actor="someone-else"))
    code, report = verify(pathway)
    assert code == 1 and "was changed" in report["problems"][0]


def test_human_output_names_the_access_log(pathway: Pathway, engine: sa.Engine) -> None:
    site(pathway)
    with without_triggers(engine) as conn:
        conn.execute(sa.delete(LOG))
    result = pathway("--as", "adm", "audit", "verify")
    assert result.exit_code == 1
    assert "the access log ends at 0 rows" in result.stdout and "Not intact" in result.stderr
