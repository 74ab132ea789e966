"""The scheduled job: schedule episodes that lag behind, open what has come due."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from pathway.clock import site_timezone
from pathway.db import flags
from pathway.db.uow import UnitOfWork
from pathway.errors import InvalidInput
from pathway.faults import fault_point

BATCH = 2000


def flag_overdue(engine: sa.Engine, *, now: datetime, batch: int = BATCH) -> dict[str, int]:
    """Open every flag due by ``now``'s site date; returns {"opened", "resolved", "open"}.

    Steps, each safe to repeat and to run alongside another copy of the job: first,
    episodes whose flags lag behind their events (none in normal operation, every
    episode right after the upgrade that introduced flags), then open episodes with no
    unresolved flag (whose flags may have been deleted: the stored set is not trusted),
    are reconciled in batches, one transaction each; then one transaction opens every
    due flag with a single UPDATE. A crash leaves committed batches valid and opens nothing.

    Crash tests stop it at ``flag_overdue.batch_before_commit`` (a batch's flags are
    written, not committed), ``flag_overdue.after_batch`` (a batch is committed, the next
    not begun) and ``flag_overdue.before_commit`` (every due flag is opened, not committed).
    """
    today = now.astimezone(site_timezone()).date()
    resolved = 0
    try:
        for step in (flags.schedule_stale, flags.schedule_missing):
            after_id = 0
            while True:
                with UnitOfWork(engine, write=True) as uow:
                    ids, n = step(uow.session.connection(), after_id=after_id, limit=batch, now=now)
                    fault_point("flag_overdue.batch_before_commit")
                    uow.commit()
                fault_point("flag_overdue.after_batch")
                resolved += n
                if len(ids) < batch:
                    break
                after_id = ids[-1]
        with UnitOfWork(engine, write=True) as uow:
            connection = uow.session.connection()
            opened = flags.open_due(connection, today=today, now=now)
            fault_point("flag_overdue.before_commit")
            uow.commit()
        # Counted after the commit, so the run that finishes last reports every flag
        # that either of two overlapping runs opened.
        with UnitOfWork(engine) as uow:
            open_now = flags.count_open(uow.session.connection())
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise InvalidInput(f"flag-overdue failed and opened nothing: {reason}. It is safe to run it again.") from None
    return {"opened": opened, "resolved": resolved, "open": open_now}
