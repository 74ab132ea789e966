"""What every command shares: global options, the app context, output, errors.

Commands stay thin: parse options, call one service function inside a unit of work,
render the result as a table or, with --json, as JSON on stdout. Every PathwayError
becomes one or two sentences on stderr and its exit code, never a traceback.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click
import sqlalchemy as sa

from pathway.clock import now_utc
from pathway.commands.base import (  # noqa: F401 - re-exported: commands import them from here
    EXIT_INTERNAL,
    Invocation,
    PathwayGroup,
    fail,
    global_options,
    numbered,
)  # fmt: skip
from pathway.db import migrate
from pathway.db.engine import create_engine, resolve_url
from pathway.db.uow import UnitOfWork, connection_error
from pathway.domain.fields import did_you_mean, quoted
from pathway.errors import InvalidInput
from pathway.services import Actor, access

if TYPE_CHECKING:
    from rich.progress import TaskID

    from pathway.remote import Remote


class Integer(click.ParamType):
    """A whole number in ASCII digits from ``minimum`` to ``maximum``; anything else is exit 2.

    Every integer option and argument uses it, so that no number reaches a service (or
    the database, or date arithmetic) that it cannot handle: no OverflowError, ever.
    """

    name = "integer"

    def __init__(self, minimum: int, maximum: int = 2**31 - 1) -> None:
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and self.minimum <= value <= self.maximum:
            return value  # a default
        text = str(value).strip(" ")
        if re.fullmatch(r"[0-9]{1,19}", text) and self.minimum <= int(text) <= self.maximum:
            return int(text)
        self.fail(f"{quoted(str(value))} is not a whole number from {self.minimum} to {self.maximum}.", param, ctx)


ID = Integer(0)  # no episode or version 0 exists: asking for one is "not found", not bad input
COUNT = Integer(1)
LIMIT = Integer(0)  # 0: no limit
DAYS = Integer(0, 3660)  # ten years ahead: further is not a plan, and date arithmetic has an end


class Choice(click.Choice):
    """click.Choice that quotes a wrong value briefly instead of echoing all of it."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value in self.choices:
            return value
        names = list(map(str, self.choices))
        self.fail(f"{quoted(str(value))} is not one of {', '.join(names)}{did_you_mean(str(value), names)}.", param, ctx)


class App(Invocation):
    """Per-invocation state: the chosen database, the acting user, the output mode."""

    def __init__(self, given: Invocation | None = None) -> None:
        self.db = given.db if given else None
        self.user = given.user if given else None
        self.json = given.json if given else False
        self._engine: sa.Engine | None = None
        self._remote: Remote | None = None
        self._remote_known = False

    def remote(self) -> Remote | None:
        """The server to act through (client mode), or None for direct database mode.

        An explicit --db or PATHWAY_DATABASE_URL is direct mode; otherwise PATHWAY_SERVER
        with PATHWAY_TOKEN, or the file `pathway login` wrote, makes this a client.
        """
        if not self._remote_known:
            from pathway import remote

            login = None if self.db or os.environ.get("PATHWAY_DATABASE_URL") else remote.current_login()
            if login is not None and self.user:
                raise InvalidInput(
                    f"--as is refused in client mode: the server at {login.server} knows who you are from your "
                    "token. Leave --as out (or use --db URL for direct database mode, as an administrator)."
                )
            self._remote = remote.Remote(login) if login else None
            self._remote_known = True
        return self._remote

    def engine(self, *, schema: str = "current") -> sa.Engine:
        """The engine for --db, once per invocation.

        ``schema``: "current" brings SQLite (or an empty database) up to date and
        refuses an outdated PostgreSQL schema; "lenient" tolerates an outdated one
        (for `db info`); "any" does not look (for `db upgrade`). Only `db upgrade`
        ("any") and the default location may create a SQLite file: any other command
        on a missing file is exit 2, naming the path.
        """
        if self._engine is None:
            server = self.remote()
            if server is not None:
                raise InvalidInput(
                    f"This command works on the database itself, which the server at {server.login.server} "
                    "holds; the API does not offer it. Run it with --db URL where the database is reachable."
                )
            url, is_default = resolve_url(self.db)
            engine = create_engine(url, create_folder=is_default, create=is_default or schema == "any")
            try:
                if schema != "any":
                    migrate.ensure_current(engine, strict=schema == "current")
                else:
                    engine.connect().close()
            except sa.exc.OperationalError as exc:
                raise connection_error(engine, exc) from None
            self._engine = engine
        return self._engine

    def uow(self, *, write: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine(), write=write)

    def actor(self) -> Actor:
        name = (self.user or os.environ.get("PATHWAY_USER") or _login_name()).strip()
        if not name or len(name) > 128 or not name.isprintable():
            raise InvalidInput("The user name (--as or PATHWAY_USER) must be 1-128 printable characters.")
        return Actor(name)

    def now(self) -> datetime:
        return now_utc()

    def authorize(
        self, uow: UnitOfWork, action: str, *also: str, episode_id: int | None = None, log_grant: bool = False,
        looks_up: bool = False,
    ) -> Actor:
        """The acting user in the role that grants ``action`` (and ``also``), or exit 5.

        ``log_grant`` also records the granted action in the access log (identified exports);
        the row is committed with the command's unit of work. ``looks_up``: see access.authorize.
        """
        return access.authorize(uow, self.actor(), action, also=also, episode_id=episode_id, now=self.now(),
                                log_grant=log_grant, looks_up=looks_up)  # fmt: skip


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def app() -> App:
    """The invocation's App, made from what the global options stored (``base.Invocation``)."""
    root = click.get_current_context().find_root()
    given = root.ensure_object(Invocation)
    if not isinstance(given, App):
        root.obj = App(given)
    return root.obj


def emit(data: Any, human: Callable[[Any], None]) -> None:
    """Print ``data`` as JSON when --json was given, else with ``human``."""
    if app().json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        human(data)


def interactive() -> bool:
    """Whether stdout is a terminal a person reads (tables fit its width) or a pipe (plain text)."""
    return sys.stdout.isatty()


def terminal_width() -> int:
    return max(40, shutil.get_terminal_size((80, 24)).columns)


def fit_width() -> int | None:
    """The width to fit text to: the terminal's, or None in a pipe (plain, unwrapped lines)."""
    return terminal_width() if interactive() else None


def _cell(value: Any) -> str:
    return "" if value is None else " ".join(str(value).split())


def table(title: str | None, columns: Iterable[str], rows: Iterable[Iterable[Any]], *, wrap: Iterable[str] = (),
          below: Iterable[str] = ()) -> None:  # fmt: skip
    """Rows under column headings, fitted to the reader.

    In a pipe or file: plain tab-separated lines (a heading line first), no padding, so
    that grep, cut and spreadsheets read it. At a terminal: aligned columns that fit its
    width. Identifiers, dates and references are never split: only the ``wrap`` columns
    (free text) wrap; when even the other columns do not fit on one line, each row keeps
    its first columns on one line and the rest go on indented lines below it. ``below``
    columns (long lists, such as a trigger's fields) always go on an indented line of
    their own under their row. With every heading empty, a plain list of name-value lines.
    """
    columns = list(columns)
    cells = [[_cell(c) for c in row] for row in rows]
    headed = any(columns)
    if not interactive():
        if title:
            click.echo(title)
        if headed:
            click.echo("\t".join(columns))
        for row in cells:
            click.echo("\t".join(row))
        return
    click.echo(render_table(title, columns, cells, set(wrap), terminal_width(), set(below)), nl=False)


def render_table(title: str | None, columns: list[str], cells: list[list[str]], wrap: set[str], width: int,
                 below: set[str] | None = None) -> str:  # fmt: skip
    """The terminal layout of ``table`` for ``width`` columns (see there)."""
    under = [i for i, c in enumerate(columns) if c in (below or set())]
    keep = [i for i in range(len(columns)) if i not in under]
    head, groups = _layout([columns[i] for i in keep], [[row[i] for i in keep] for row in cells], wrap, width)
    out = wrap_text(title, width) if title else []
    out += head
    for row, group in zip(cells, groups, strict=True):
        out += group
        for i in under:
            if row[i]:
                out += wrap_text(f"{columns[i]}: {row[i]}", width, indent="    ")
    return "\n".join(out) + "\n"


def _layout(columns: list[str], cells: list[list[str]], wrap: set[str], width: int
            ) -> tuple[list[str], list[list[str]]]:  # fmt: skip
    """The heading lines, and each row's lines: aligned columns, wrapped free text, or stacked."""
    headed = any(columns)
    natural = [max([len(columns[i])] + [len(row[i]) for row in cells]) for i in range(len(columns))]
    gap = 2

    def line(parts: list[str], widths: list[int]) -> str:
        return "  ".join(p.ljust(w) for p, w in zip(parts, widths, strict=True)).rstrip()

    if sum(natural) + gap * (len(columns) - 1) <= width:
        widths = natural
    else:
        flexible = [i for i, c in enumerate(columns) if c in wrap]
        fixed = sum(natural[i] for i in range(len(columns)) if i not in flexible) + gap * (len(columns) - 1)
        room = width - fixed
        if not flexible or room < 16 * len(flexible):
            return _stacked(columns, cells, natural, width)
        widths = list(natural)
        left, pending = room, sorted(flexible, key=lambda i: natural[i])
        while pending:  # the narrowest free-text columns take what they need; the rest share what is left
            share = left // len(pending)
            i = pending.pop(0)
            widths[i] = min(natural[i], share)
            left -= widths[i]
    head = [line(columns, widths), line(["-" * w for w in widths], widths)] if headed else []
    groups = []
    for row in cells:
        wrapped = [wrap_text(c, w) for c, w in zip(row, widths, strict=True)]
        groups.append([line([w[k] if k < len(w) else "" for w in wrapped], widths)
                       for k in range(max(len(w) for w in wrapped))])  # fmt: skip
    return head, groups


def wrap_text(text: str, width: int, indent: str = "") -> list[str]:
    """Lines of at most ``width`` characters, broken between words; a word longer than a line
    (a list of choices, a path) is broken after a ``|``, ``,`` or ``/`` of its own, never inside a name."""
    pieces: list[tuple[str, str]] = []  # (piece, what joins it to the one before)
    for word in text.split():
        parts = re.findall(r"[^|,/]+[|,/]?|[|,/]", word) if len(indent) + len(word) > width else [word]
        pieces += [(part, " " if i == 0 else "") for i, part in enumerate(parts)]
    lines: list[str] = []
    current = ""
    for piece, joiner in pieces:
        joined = f"{current}{joiner if current else ''}{piece}"
        if current and len(indent) + len(joined) > width:
            lines.append(indent + current)
            current = piece
        else:
            current = joined
    if current or not lines:
        lines.append(indent + current)
    return lines


def _stacked(columns: list[str], cells: list[list[str]], natural: list[int], width: int
             ) -> tuple[list[str], list[list[str]]]:  # fmt: skip
    """Each row's leading columns aligned on one line; the others as "heading: value" lines below it."""
    lead, used = 0, 0
    while lead < len(columns) and used + natural[lead] + (2 if lead else 0) <= width:
        used += natural[lead] + (2 if lead else 0)
        lead += 1
    lead = max(lead, 1)
    widths = natural[:lead]
    head = []
    if any(columns):
        head = ["  ".join(c.ljust(w) for c, w in zip(columns[:lead], widths, strict=True)).rstrip(),
                "  ".join("-" * w for w in widths)]  # fmt: skip
    groups = []
    for row in cells:
        group = ["  ".join(c.ljust(w) for c, w in zip(row[:lead], widths, strict=True)).rstrip()]
        rest = "; ".join(f"{c}: {v}" if c else v for c, v in zip(columns[lead:], row[lead:], strict=True) if v)
        if rest:
            group += wrap_text(rest, width, indent="    ")
        groups.append(group)
    return head, groups


class ProgressBar:
    """A progress bar on stderr, for long commands on a terminal (callers check ``isatty``).

    ``start`` may be called again for a second phase; ``label`` names what is going on.
    """

    def __init__(self, label: str = "working") -> None:
        from rich.console import Console  # not at the top: `pathway --help` loads no rich
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.label = label
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), transient=True,
        )  # fmt: skip
        self.task: TaskID | None = None

    def start(self, total: int | None, label: str | None = None) -> None:
        if self.task is None:
            self.progress.start()
        else:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task(label or self.label, total=total)

    def advance(self, n: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, n)

    def stop(self) -> None:
        self.progress.stop()


def value_text(value: Any) -> str:
    """A field value as a coordinator types it: ``true``, ``a,b``, ``{ifs_mm=12}``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(map(value_text, value))
    if isinstance(value, dict):  # a correction's new values, or the steps its override covers
        return "{" + " ".join(f"{k}={value_text(v)}" for k, v in value.items()) + "}"
    return str(value)
