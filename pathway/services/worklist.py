"""The coordinators' worklist: what is overdue, due or coming up, most overdue first."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from pathway.db.models import UNRESOLVED, EpisodeRow, FlagRow
from pathway.db.uow import UnitOfWork
from pathway.domain.patients import patient_key
from pathway.domain.states import STATES
from pathway.domain.timers import KINDS, clearing_triggers
from pathway.errors import InvalidInput

MIN_SEARCH = 3


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def status(due_on: date, overdue_on: date, today: date) -> str:
    if today >= overdue_on:
        return "overdue"
    return "due" if today >= due_on else "upcoming"


def worklist(
    uow: UnitOfWork,
    *,
    today: date,
    overdue_only: bool = False,
    due_within: int = 0,
    kind: str | None = None,
    state: str | None = None,
    search: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Iterator[dict[str, Any]]:
    """Unresolved flags opened by the job or due by ``today + due_within``, most overdue first.

    Reads ix_flags_worklist in order, so the first page costs the same on a million
    episodes as on a hundred. Rows carry the patient reference: coordinators need it;
    it is never logged. ``search`` keeps rows whose reference contains it (case-insensitive,
    at least 3 characters: fewer would match most of a clinic); ``offset`` pages on.
    """
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"There is no flag kind {kind!r}; the kinds are: {', '.join(KINDS)}.")
    if state is not None and state not in STATES:
        raise InvalidInput(f"There is no state {state!r}; the states are: {', '.join(STATES)}.")
    if search is not None and len(search.strip()) < MIN_SEARCH:
        raise InvalidInput(f"Search with at least {MIN_SEARCH} characters of the patient reference.")
    if due_within < 0:
        raise InvalidInput("--due-within takes a number of days, 0 or more.")
    params: dict[str, Any] = {"due_by": today + timedelta(days=due_within)}
    if limit:
        params["limit"] = limit
    if offset:
        params["offset"] = offset
    if overdue_only:
        params["overdue_by"] = today
    if kind is not None:
        params["kind"] = kind
    if state is not None:
        params["state"] = state
    if search is not None:
        params["pattern"] = "%" + _escape_like(patient_key(search)) + "%"
    query = _query(tuple(sorted(params)), streamed=not limit or limit > 500)
    for eid, ref, side, in_state, of_kind, milestone, anchor_on, due_on, overdue_on, opened_at in uow.session.execute(
        query, params
    ):
        yield {
            "episode_id": eid,
            "patient_ref": ref,
            "side": side,
            "state": in_state,
            "kind": of_kind,
            "milestone": milestone if of_kind == "postop_followup" else None,
            "anchor_on": anchor_on.isoformat(),
            "due_on": due_on.isoformat(),
            "overdue_on": overdue_on.isoformat(),
            "status": status(due_on, overdue_on, today),
            "days_overdue": (today - overdue_on).days,
            "triggers": list(clearing_triggers(of_kind, in_state)),
            "opened_at": opened_at.isoformat() if opened_at else None,
        }


@functools.cache
def _query(filters: tuple[str, ...], *, streamed: bool) -> sa.Select[Any]:
    """The worklist statement for one set of ``filters`` (the names of its parameters), built once.

    Building a statement costs more than running it on a small clinic's worklist, and
    the filters a coordinator combines are few, so each combination is built once.
    """
    f, e = FlagRow.__table__, EpisodeRow.__table__
    query = (
        sa.select(
            f.c.episode_id, e.c.patient_ref, e.c.side, e.c.state, f.c.kind, f.c.milestone, f.c.anchor_on,
            f.c.due_on, f.c.overdue_on, f.c.opened_at,
        )
        .join(e, e.c.id == f.c.episode_id)
        .where(sa.text(UNRESOLVED), (f.c.due_on <= sa.bindparam("due_by")) | f.c.opened_at.is_not(None))
        .order_by(f.c.overdue_on, f.c.id)
    )  # fmt: skip
    if "limit" in filters:
        query = query.limit(sa.bindparam("limit"))
    if "offset" in filters:
        query = query.offset(sa.bindparam("offset"))
    if "overdue_by" in filters:
        query = query.where(f.c.overdue_on <= sa.bindparam("overdue_by"))
    if "kind" in filters:
        query = query.where(f.c.kind == sa.bindparam("kind"))
    if "state" in filters:
        query = query.where(e.c.state == sa.bindparam("state"))
    if "pattern" in filters:
        query = query.where(e.c.patient_key.like(sa.bindparam("pattern"), escape="\\"))
    if streamed:  # a server-side cursor only when a page could be large
        query = query.execution_options(yield_per=500)
    return query
