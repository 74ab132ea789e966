"""SQL pieces that SQLite and PostgreSQL spell differently, for the quality report.

Each is a small SQLAlchemy construct compiled per dialect, so that report queries are
written once: day arithmetic on dates, a rule's JSON value as a number, JSON arrays
as rows, and the median (neither back end shares a percentile function with the other).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from pathway.db.models import RuleRow


class days_between(FunctionElement[int]):  # noqa: N801 - reads like the SQL function it is
    """Whole days from the first date to the second."""

    type = sa.Integer()
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"CAST(julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_pg(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"(({compiler.process(end, **kw)})::date - ({compiler.process(start, **kw)})::date)"


class add_days(FunctionElement[Any]):  # noqa: N801
    """A date plus a whole number of days."""

    type = sa.Date()
    inherit_cache = True


@compiles(add_days, "sqlite")
def _add_sqlite(element: add_days, compiler: Any, **kw: Any) -> str:
    day, n = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, printf('%+d days', CAST(({compiler.process(n, **kw)}) AS INTEGER)))"


@compiles(add_days, "postgresql")
def _add_pg(element: add_days, compiler: Any, **kw: Any) -> str:
    day, n = list(element.clauses)
    return f"(({compiler.process(day, **kw)})::date + ({compiler.process(n, **kw)})::integer)"


class json_number(FunctionElement[float]):  # noqa: N801
    """A JSON document that is a bare number, as a number."""

    type = sa.Float()
    inherit_cache = True


@compiles(json_number, "sqlite")
def _number_sqlite(element: json_number, compiler: Any, **kw: Any) -> str:
    return f"CAST(json_extract({compiler.process(list(element.clauses)[0], **kw)}, '$') AS REAL)"


@compiles(json_number, "postgresql")
def _number_pg(element: json_number, compiler: Any, **kw: Any) -> str:
    return f"(({compiler.process(list(element.clauses)[0], **kw)}) #>> '{{}}')::double precision"


def json_elements(dialect: str, column: ColumnElement[Any], name: str) -> sa.TableValuedAlias:
    """The elements of a JSON array column, one row each, as text column ``value``."""
    function = sa.func.json_each if dialect == "sqlite" else sa.func.jsonb_array_elements_text
    return function(column).table_valued("value").alias(name)


def rule(key: str | ColumnElement[str], version: ColumnElement[int]) -> sa.ScalarSelect[Any]:
    """The numeric rule ``key`` of the pinned rule set ``version`` (a correlated subquery)."""
    return (
        sa.select(json_number(RuleRow.value))
        .where(RuleRow.rule_set_version == version, RuleRow.key == key)
        .correlate_except(RuleRow)  # to the episode at whatever depth the enclosing query has it
        .scalar_subquery()
    )


def median(values: sa.Subquery, column: str = "x", flag: str | None = None) -> sa.Select[Any]:
    """One row: how many non-NULL values, their median (NULL if none) and, given a 0/1
    ``flag`` column, how many are flagged. One pass, with window functions."""
    x = values.c[column]
    ranked = (
        sa.select(
            x.label("x"),
            (values.c[flag] if flag else sa.literal(0)).label("flag"),
            sa.func.row_number().over(order_by=x).label("rn"),
            sa.func.count().over().label("n"),
        )
        .where(x.is_not(None))
        .subquery()
    )
    middle = sa.or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)
    return sa.select(
        sa.func.count(),
        sa.func.avg(sa.case((middle, sa.cast(ranked.c.x, sa.Float)))),
        sa.func.coalesce(sa.func.sum(ranked.c.flag), 0),
    ).select_from(ranked)
