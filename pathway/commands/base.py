"""The command line's skeleton, light enough for `pathway --help`: click and nothing heavy.

The root group lists its commands from a registry of import paths and one-line helps
(``cli.COMMANDS``) and imports a command's module only when that command runs (or its
own help is asked for). Global options, error reporting and the group behaviour every
group shares live here too, so that neither listing commands nor failing imports
SQLAlchemy, rich or the domain.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

import click

from pathway.errors import InvalidInput, PathwayError, Refused

EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug, not the user's fault


class Invocation:
    """What the global options said: the database, the acting user, the output mode."""

    db: str | None = None
    user: str | None = None
    json: bool = False


def _store(attribute: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value not in (None, False):
            setattr(ctx.find_root().ensure_object(Invocation), attribute, value)

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


def numbered(reasons: Iterable[str]) -> str:
    """Reasons as `advance` and `next` both give them: "(1) ... (2) ..."."""
    return " ".join(f"({i}) {r}" for i, r in enumerate(reasons, 1))


def fail(error: PathwayError) -> NoReturn:
    """Report ``error`` on stderr (and as JSON on stdout with --json) and exit."""
    lines = [error.message]
    if isinstance(error, Refused) and error.overridable:
        lines[0] += " To go ahead anyway, a clinician can repeat the command with --override REASON."
    if error.details:
        lines.append("Reasons: " + numbered(error.details))
    for line in lines:
        click.echo(line, err=True)
    try:
        json_mode = click.get_current_context().find_root().ensure_object(Invocation).json
    except RuntimeError:
        json_mode = False
    if json_mode:
        click.echo(
            json.dumps({"error": {"exit_code": error.exit_code, "message": error.message, "reasons": error.details}})
        )
    sys.exit(error.exit_code)


def _shortened(error: click.UsageError) -> click.UsageError:
    """``error`` with a message of reasonable length: click quotes a wrong option or argument whole."""
    if len(error.message) <= 300:
        return error
    return click.UsageError(error.message[:240].rstrip() + "... (shortened).", ctx=error.ctx)


class PathwayGroup(click.Group):
    """A click group that turns our errors into messages and exit codes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            raise _shortened(error) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Commands in the order they were added (a coordinator's day), not alphabetical."""
        return list(self.commands)

    def listed_help(self, ctx: click.Context, name: str) -> str | None:
        command = self.get_command(ctx, name)
        return None if command is None or command.hidden else command.get_short_help_str(limit=1000)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command listing with each first sentence whole (wrapped), never cut with "..."."""
        rows = [(name, text) for name in self.list_commands(ctx) if (text := self.listed_help(ctx, name)) is not None]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PathwayError as error:
            fail(error)
        except click.UsageError as error:  # a subcommand's options or arguments
            raise _shortened(error) from None
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing was changed.", err=True)
            sys.exit(130)
        except Exception as error:  # noqa: BLE001 - last line of defence: no tracebacks for users
            from sqlalchemy.exc import DBAPIError  # loaded already whenever a database was used

            if isinstance(error, DBAPIError):
                reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
                fail(InvalidInput(f"The database reported an error: {reason}. Nothing was changed; try again."))
            if os.environ.get("PATHWAY_DEBUG"):
                raise
            click.echo(
                f"Internal error ({type(error).__name__}); nothing was changed. "
                "Please report it; PATHWAY_DEBUG=1 shows the details.",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)


class LazyGroup(PathwayGroup):
    """A group whose commands are imported when used: ``{name: ("module:attribute", "one-line help")}``."""

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy, *(name for name in self.commands if name not in self.lazy)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, _, attribute = self.lazy[name][0].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, name)
        return super().get_command(ctx, name)

    def listed_help(self, ctx: click.Context, name: str) -> str | None:
        if name in self.lazy and name not in self.commands:
            return self.lazy[name][1]  # listing the commands imports none of them
        return super().listed_help(ctx, name)
