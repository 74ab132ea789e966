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
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, NoReturn

import click
import sqlalchemy as sa
from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from pathway.clock import now_utc
from pathway.db import migrate
from pathway.db.engine import create_engine, resolve_url
from pathway.db.uow import UnitOfWork, connection_error
from pathway.domain.fields import quoted
from pathway.errors import InvalidInput, PathwayError, Refused
from pathway.services import Actor, access


class _Id(click.ParamType):
    """A whole number in ASCII digits, ``minimum`` to 2**31 - 1 (ids, versions, limits); else exit 2."""

    name = "integer"

    def __init__(self, minimum: int) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip(" ")
        if re.fullmatch(r"[0-9]{1,10}", text) and self.minimum <= int(text) <= 2**31 - 1:
            return int(text)
        self.fail(f"{quoted(str(value))} is not a whole number from {self.minimum} to {2**31 - 1}.", param, ctx)


ID = _Id(0)  # no episode or version 0 exists: asking for one is "not found", not bad input
COUNT = _Id(1)


class Choice(click.Choice):
    """click.Choice that quotes a wrong value briefly instead of echoing all of it."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value in self.choices:
            return value
        self.fail(f"{quoted(str(value))} is not one of {', '.join(map(str, self.choices))}.", param, ctx)


EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug, not the user's fault


class App:
    """Per-invocation state: the chosen database, the acting user, the output mode."""

    def __init__(self) -> None:
        self.db: str | None = None
        self.user: str | None = None
        self.json = False
        self._engine: sa.Engine | None = None

    def engine(self, *, schema: str = "current") -> sa.Engine:
        """The engine for --db, once per invocation.

        ``schema``: "current" brings SQLite (or an empty database) up to date and
        refuses an outdated PostgreSQL schema; "lenient" tolerates an outdated one
        (for `db info`); "any" does not look (for `db upgrade`). Only `db upgrade`
        ("any") and the default location may create a SQLite file: any other command
        on a missing file is exit 2, naming the path.
        """
        if self._engine is None:
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
        self, uow: UnitOfWork, action: str, *also: str, episode_id: int | None = None, log_grant: bool = False
    ) -> Actor:
        """The acting user in the role that grants ``action`` (and ``also``), or exit 5.

        ``log_grant`` also records the granted action in the access log (identified exports);
        the row is committed with the command's unit of work.
        """
        return access.authorize(
            uow, self.actor(), action, also=also, episode_id=episode_id, now=self.now(), log_grant=log_grant
        )


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def app() -> App:
    ctx = click.get_current_context()
    return ctx.find_root().ensure_object(App)


def _store(attribute: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value not in (None, False):
            setattr(ctx.find_root().ensure_object(App), attribute, value)

    return callback


def global_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--db, --as and --json, accepted before the command name or after it."""
    for option in reversed(
        (
            click.option("--db", "db", metavar="URL", expose_value=False, callback=_store("db"),
                         help="Database URL or SQLite file (else $PATHWAY_DATABASE_URL, else the default file)."),
            click.option("--as", "user", metavar="USER", expose_value=False, callback=_store("user"),
                         help="Act as this user (else $PATHWAY_USER, else your login name)."),
            click.option("--json", "json_output", is_flag=True, expose_value=False, callback=_store("json"),
                         help="Machine-readable JSON on stdout."),
        )
    ):  # fmt: skip
        command = option(command)
    return command


def emit(data: Any, human: Callable[[Any], None]) -> None:
    """Print ``data`` as JSON when --json was given, else with ``human``."""
    if app().json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        human(data)


def console() -> Console:
    # On a terminal, fit the window; in a pipe or file, never fold a cell (grep-able).
    width = None if sys.stdout.isatty() else 100_000
    return Console(width=width, highlight=False, soft_wrap=False)


def table(title: str | None, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    """Rows under column headings; with every heading empty, a plain list of name-value lines."""
    tty = sys.stdout.isatty()
    columns = list(columns)
    headed = any(columns)
    style = (box.HEAVY_HEAD if tty else box.SIMPLE) if headed else None
    grid = Table(title=title, title_justify="left", show_lines=False, box=style, show_header=headed)
    for column in columns:
        grid.add_column(column, overflow="fold", no_wrap=not tty)
    for row in rows:
        grid.add_row(*("" if cell is None else str(cell) for cell in row))
    console().print(grid)


def fail(error: PathwayError) -> NoReturn:
    """Report ``error`` on stderr (and as JSON on stdout with --json) and exit."""
    lines = [error.message]
    if isinstance(error, Refused) and error.overridable:
        lines[0] += " To go ahead anyway, a clinician can repeat the command with --override REASON."
    if error.details:
        lines.append("Reasons: " + " ".join(f"({i}) {d}" for i, d in enumerate(error.details, 1)))
    for line in lines:
        click.echo(line, err=True)
    try:
        json_mode = app().json
    except RuntimeError:
        json_mode = False
    if json_mode:
        click.echo(
            json.dumps({"error": {"exit_code": error.exit_code, "message": error.message, "reasons": error.details}})
        )
    sys.exit(error.exit_code)


class PathwayGroup(click.Group):
    """A click group that turns our errors into messages and exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Commands in the order they were added (a coordinator's day), not alphabetical."""
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PathwayError as error:
            fail(error)
        except DBAPIError as error:
            reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
            fail(InvalidInput(f"The database reported an error: {reason}. Nothing was changed; try again."))
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing was changed.", err=True)
            sys.exit(130)
        except Exception as error:  # noqa: BLE001 - last line of defence: no tracebacks for users
            if os.environ.get("PATHWAY_DEBUG"):
                raise
            click.echo(
                f"Internal error ({type(error).__name__}); nothing was changed. "
                "Please report it; PATHWAY_DEBUG=1 shows the details.",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)
