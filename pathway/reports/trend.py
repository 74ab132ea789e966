"""The main adherence figures month by month (or quarter by quarter), for the trend chart.

Each figure is a rate (quality.rates): events counted, how many hit, and the share.
Periods are calendar months or quarters of the events' clinical dates; a period with
no counted event for a figure has ``n`` 0 and no share.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from pathway.reports.quality import Scope, rates, share

BY = ("month", "quarter")


class month_of(FunctionElement[str]):  # noqa: N801 - reads like the SQL function it is
    """The calendar month of a date as text, ``2026-03``."""

    type = sa.String()
    inherit_cache = True


class quarter_of(FunctionElement[str]):  # noqa: N801
    """The calendar quarter of a date as text, ``2026-Q1``."""

    type = sa.String()
    inherit_cache = True


@compiles(month_of, "sqlite")
def _month_sqlite(element: month_of, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m', {compiler.process(list(element.clauses)[0], **kw)})"


@compiles(month_of, "postgresql")
def _month_pg(element: month_of, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(list(element.clauses)[0], **kw)}, 'YYYY-MM')"


@compiles(quarter_of, "sqlite")
def _quarter_sqlite(element: quarter_of, compiler: Any, **kw: Any) -> str:
    day = compiler.process(list(element.clauses)[0], **kw)
    return f"(strftime('%Y', {day}) || '-Q' || ((CAST(strftime('%m', {day}) AS INTEGER) + 2) / 3))"


@compiles(quarter_of, "postgresql")
def _quarter_pg(element: quarter_of, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(list(element.clauses)[0], **kw)}, 'YYYY-\"Q\"Q')"


def _between(first: str, last: str, by: str) -> list[str]:
    """Every period label from ``first`` to ``last``, so that the trend shows quiet periods too."""
    def number(label: str) -> int:
        year, part = label.split("-")
        return int(year) * 12 + (int(part) - 1 if by == "month" else (int(part[1:]) - 1) * 3)

    step = 1 if by == "month" else 3
    out = []
    for n in range(number(first), number(last) + 1, step):
        year, month = divmod(n, 12)
        out.append(f"{year}-{month + 1:02d}" if by == "month" else f"{year}-Q{month // 3 + 1}")
    return out


def trend(conn: sa.Connection, s: Scope, by: str = "month") -> dict[str, Any]:
    """Per period (oldest first), each rate's events counted, hits and share."""
    if by not in BY:
        raise ValueError(by)
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for name, rows in rates(s).items():
        key = month_of(rows.c.on) if by == "month" else quarter_of(rows.c.on)
        query = sa.select(key, sa.func.count(), sa.func.sum(rows.c.hit)).group_by(key)
        for period, n, hits in conn.execute(query):
            found.setdefault(period, {})[name] = {"n": n, "hits": hits or 0, "share": share(hits or 0, n)}
    empty = {"n": 0, "hits": 0, "share": None}
    names = list(rates(s))
    return {
        "by": by,
        "periods": [{"period": p, **{n: found.get(p, {}).get(n, empty) for n in names}}
                    for p in (_between(min(found), max(found), by) if found else [])],
    }
