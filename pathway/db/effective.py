"""The effective history in SQL: events as they now count, for reports.

Reports are SQL over the events; a corrected or voided event must count as it now
stands. The ``revisions`` table (kept by ``repository.project`` in the transaction of
every correction) holds each event whose effective form differs from its record, so
the effective events are one outer join away: voided events and the correcting events
themselves left out, corrected values and re-derived states in place of the recorded.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pathway.db.models import EventRow, RevisionRow
from pathway.db.types import JSONValue
from pathway.domain.history import CORRECTIONS

EVENTS: sa.Table = EventRow.__table__  # type: ignore[assignment]
REVISIONS: sa.Table = RevisionRow.__table__  # type: ignore[assignment]
REVISED = ("from_state", "to_state", "occurred_on", "fields")


def effective_events(name: str = "effective", *, corrections: bool = False) -> sa.Subquery:
    """Every clinical event that counts, with the columns of ``events`` (alias it: ``.alias("e")``).

    With ``corrections`` the counted correcting events are kept too (for overrides,
    which a correction may carry).
    """
    e, r = EVENTS, REVISIONS
    joined = e.outerjoin(r, sa.and_(r.c.episode_id == e.c.episode_id, r.c.seq == e.c.seq))
    columns: list[sa.ColumnElement[Any]] = []
    for column in e.c:
        if column.name in REVISED:
            value: sa.ColumnElement[Any] = sa.case((r.c.seq.is_(None), column), else_=r.c[column.name])
            if column.name == "fields":
                value = sa.type_coerce(value, JSONValue)
            columns.append(value.label(column.name))
        else:
            columns.append(column)
    counted = sa.or_(r.c.status.is_(None), r.c.status != "entered_in_error")
    query = sa.select(*columns).select_from(joined).where(counted)
    if not corrections:
        query = query.where(e.c.trigger.not_in(CORRECTIONS))
    return query.subquery(name)
