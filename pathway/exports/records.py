"""Audit events as export records: identified, or pseudonymised for quality review.

One streaming query reads each event with its episode's patient reference and referral
date (day 0), in episode and sequence order. Rows are turned into flat records whose
JSON-valued columns (fields, guards, overridden guards) are JSON text, ready for both
the CSV and the JSON Lines writers. This is the hot loop of every export, so it works
on the driver's raw values (text on SQLite, typed on PostgreSQL) and re-encodes JSON
only where pseudonymisation must change it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

import sqlalchemy as sa

from pathway.db import stream
from pathway.db.types import AnyRow
from pathway.domain import pseudonym as p
from pathway.domain.audit import utc_text
from pathway.domain.effective import Status
from pathway.domain.history import CORRECTIONS

IDENTIFIED_COLUMNS = (
    "episode_id", "seq", "patient_ref", "side", "trigger", "from_state", "to_state", "occurred_on", "recorded_at",
    "actor", "role", "rules_version", "fields", "guards", "override_reason", "overridden_guards", "prev_hash", "hash",
    "status", "source", "source_sha256", "source_row", "auth",
)  # fmt: skip
PSEUDONYMISED_COLUMNS = tuple(
    {"patient_ref": "patient_pseudonym", "occurred_on": "occurred_day", "recorded_at": "recorded_day"}.get(c, c)
    for c in IDENTIFIED_COLUMNS
)
JSON_COLUMNS = frozenset({"fields", "guards", "overridden_guards"})

_SELECT = """
SELECT e.episode_id, e.seq, ep.patient_ref, ep.side, ep.referred_on, e.trigger, e.from_state, e.to_state,
       e.occurred_on, e.recorded_at, e.actor, e.role, e.rules_version, e.fields, e.guards, e.override_reason,
       e.overridden_guards, e.prev_hash, e.hash, r.status, r.by_seq, r.from_state, r.to_state, r.occurred_on,
       r.fields, e.source, e.source_sha256, e.source_row, e.auth
FROM events e JOIN episodes ep ON ep.id = e.episode_id
LEFT JOIN revisions r ON r.episode_id = e.episode_id AND r.seq = e.seq
"""


def status_text(status: str | None, by: int | None) -> str:
    """An event's status as `episode history` shows it: ``effective``, ``corrected by N``, ``entered in error by N``."""
    return str(Status(status, by)) if status else "effective"


@dataclass(frozen=True)
class Period:
    """Events whose clinical date (``occurred_on``) falls in [since, until], both included."""

    since: date | None = None
    until: date | None = None

    def where(self, column: str) -> tuple[str, dict[str, date]]:
        clauses, params = [], {}
        if self.since is not None:
            clauses.append(f"{column} >= :since")
            params["since"] = self.since
        if self.until is not None:
            clauses.append(f"{column} <= :until")
            params["until"] = self.until
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _query(period: Period) -> sa.TextClause:
    where, params = period.where("e.occurred_on")
    query = sa.text(_SELECT + where + " ORDER BY e.episode_id, e.seq")
    return query.bindparams(*(sa.bindparam(name, value, type_=sa.Date) for name, value in params.items()))


def count(connection: sa.Connection, period: Period) -> int:
    where, params = period.where("occurred_on")
    query = sa.text("SELECT COUNT(*) FROM events" + where)
    return connection.execute(
        query.bindparams(*(sa.bindparam(name, value, type_=sa.Date) for name, value in params.items()))
    ).scalar_one()


def raw_rows(connection: sa.Connection, period: Period) -> Iterator[AnyRow]:
    return iter(stream.streamed(connection, _query(period)))


# -- values as the drivers return them: text on SQLite, typed on PostgreSQL ------------


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def as_instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def instant_text(value: Any) -> str:
    if isinstance(value, str) and len(value) == 26:  # SQLite's "YYYY-MM-DD HH:MM:SS.ffffff", naive UTC
        return f"{value[:10]}T{value[11:]}Z"
    return utc_text(as_instant(value))


def json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


Record = tuple[Any, ...]


def identified(rows: Iterator[AnyRow]) -> Iterator[Record]:
    """Records with real patient references, dates and instants (the exact hashed form)."""
    for r in rows:
        yield (
            r[0], r[1], r[2], r[3], r[5], r[6], r[7], str(r[8]), instant_text(r[9]), r[10], r[11], r[12],
            json_text(r[13]), json_text(r[14]), r[15], json_text(r[16]), r[17], r[18], status_text(r[19], r[20]),
            r[25], r[26], r[27], r[28],
        )  # fmt: skip


def pseudonymised(rows: Iterator[AnyRow], key: bytes, site_zone: tzinfo) -> Iterator[Record]:
    """Records with pseudonyms, day numbers and free text withheld (see ``domain.pseudonym``)."""
    episode, patient, day0 = None, "", date.min
    triggers: dict[int, str] = {}  # this episode's events so far: what a correction corrects
    for r in rows:
        if r[0] != episode:
            episode, patient, day0 = r[0], p.pseudonym(key, r[2]), as_date(r[4])
            triggers = {}
        trigger = r[5]
        triggers[r[1]] = trigger
        if trigger in p.REWRITTEN:
            values = json_value(r[13])
            target = triggers.get(values.get("seq")) if trigger in CORRECTIONS else None
            fields = json.dumps(p.pseudonymised_fields(trigger, values, day0, patient, target), ensure_ascii=False)
        else:
            fields = json_text(r[13])
        yield (
            episode, r[1], patient, r[3], trigger, r[6], r[7],
            (as_date(r[8]) - day0).days, (as_instant(r[9]).astimezone(site_zone).date() - day0).days,
            r[10], r[11], r[12], fields, p.dates_as_days(json_text(r[14]), day0),
            None if r[15] is None else p.WITHHELD, json_text(r[16]), p.keyed_hash(key, r[17]), p.keyed_hash(key, r[18]),
            status_text(r[19], r[20]),
            r[25], None if r[26] is None else p.WITHHELD, r[27], r[28],  # the file hash is from identified data
        )  # fmt: skip


def records(
    connection: sa.Connection, period: Period, *, key: bytes | None, site_zone: tzinfo
) -> tuple[tuple[str, ...], Iterator[Record]]:
    """The column names and the records: pseudonymised when a key is given."""
    rows = raw_rows(connection, period)
    if key is None:
        return IDENTIFIED_COLUMNS, identified(rows)
    return PSEUDONYMISED_COLUMNS, pseudonymised(rows, key, site_zone)


Progress = Callable[[int], None]


def reporting(records: Iterable[Record], progress: Progress | None, every: int = 5_000) -> Iterator[Record]:
    """Pass the records through, telling ``progress`` how many went by every ``every`` and at the end."""
    if progress is None:
        yield from records
        return
    n = 0
    for n, record in enumerate(records, 1):  # noqa: B007 - n is the count afterwards
        yield record
        if n % every == 0:
            progress(every)
    progress(n % every)
