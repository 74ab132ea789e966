"""Building episodes to a given state through the CLI, and reading flags back, for flag tests."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from pathway.db.models import FlagRow
from tests.conftest import Pathway

# The usual route through the pathway; every step is given --override so that dates can
# be chosen freely (an override that no guard needs is not recorded).
ROUTE: list[tuple[str, list[str], str]] = [
    ("order_radiographs", [], "radiographs_ordered"),
    ("record_radiographs", ["result=negative"], "radiographs_reported"),
    ("order_mri", [], "mri_ordered"),
    ("record_mri", ["ifs_mm=12", "qfs_mm=8", "qf_edema=true", "qf_fatty_replacement=false"], "mri_reported"),
    ("confirm_diagnosis", [], "diagnosed"),
    ("start_conservative", [], "conservative_care"),
    ("inject", ["guidance=ultrasound", "agent=corticosteroid_anaesthetic"], "injection_done"),
    ("record_injection_response", ["pain_before=8", "pain_after=2", "relief=temporary"], "conservative_care"),
    ("reassess", ["outcome=persistent", "pain=6"], "conservative_care"),
    ("refer_to_surgery", [], "surgical_referral"),
    ("schedule_surgery", ["approach=endoscopic", "planned_on={planned}"], "surgery_scheduled"),
    ("record_surgery", ["approach=endoscopic", "sciatic_neurolysis=false"], "post_operative"),
]


def step(pathway: Pathway, eid: int, trigger: str, on: date, *sets: str) -> None:
    result = pathway.advance(eid, trigger, on.isoformat(), *sets, extra=("--override", "test scenario"))
    assert result.exit_code == 0, (trigger, result.output)


def walk(
    pathway: Pathway, eid: int, state: str, on: date, *, planned: date | None = None, upto: int | None = None
) -> None:
    """Advance episode ``eid`` along ROUTE, every step dated ``on``, until it is in ``state``.

    ``upto`` stops after that many steps instead (for states the route passes twice).
    """
    for n, (trigger, sets, reached) in enumerate(ROUTE, start=1):
        step(pathway, eid, trigger, on, *(s.format(planned=planned or on) for s in sets))
        if (upto is None and reached == state) or n == upto:
            return
    raise AssertionError(f"the route never reaches {state}")


def sweep(pathway: Pathway, when: date | str) -> dict[str, int]:
    text = when.isoformat() if isinstance(when, date) else when
    return pathway.json("jobs", "flag-overdue", "--now", text)


def flag_rows(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(FlagRow.__table__).order_by(FlagRow.id)).mappings().all()
    return [dict(r) for r in rows]


def plus(day: date, n: int) -> date:
    return day + timedelta(days=n)
