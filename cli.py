"""The `pathway` command line: the root group, its global options and the command registry.

Commands are registered by import path in ``COMMANDS`` and imported only when they run,
so `pathway --help` loads click and nothing heavy, and `pathway next ID` loads what
`next` needs. To add a command: write it in its own module under ``pathway/commands``
and add one line here (its name, "module:attribute", and the one-line help that
`pathway --help` shows; a test checks that line against the command's own help).
Heavy libraries (rich, matplotlib, fhir.resources, alembic, the PostgreSQL dialect)
are imported inside the functions that use them, never at the top of a command module.
"""

from __future__ import annotations

import click

from pathway import __version__
from pathway.commands.base import LazyGroup, global_options

# name: ("module:attribute", one-line help for the listing), in a coordinator's day order.
COMMANDS: dict[str, tuple[str, str]] = {
    "episode": ("pathway.commands.episode:episode",
                "Open, show, list and trace episodes (one patient, one side, one course of care)."),
    "advance": ("pathway.commands.advance:advance", "Fire TRIGGER on episode ID, checked against its pinned rules."),
    "next": ("pathway.commands.advance:next_", "What may be done next for episode ID, and why not the rest."),
    "import": ("pathway.commands.imports:import_",
               "Import episodes and their history from a spreadsheet or an export."),
    "correct": ("pathway.commands.corrections:correct",
                "Correct fields and/or the date of event SEQ of episode ID with a new, audited event."),
    "void": ("pathway.commands.corrections:void", "Mark event SEQ of episode ID entered in error: it no longer counts."),
    "worklist": ("pathway.commands.worklist:worklist",
                 "Open and upcoming flags, most overdue first, with the trigger that clears each."),
    "jobs": ("pathway.commands.jobs:jobs", "Scheduled jobs."),
    "rules": ("pathway.commands.rules:rules", "The versioned rule sets that guards and timers read."),
    "diagram": ("pathway.commands.diagram:diagram",
                "Draw the pathway's state machine, with the guards on its edges, from the engine's own definition."),
    "audit": ("pathway.commands.audit:audit", "Prove the audit trail intact, and export it for review."),
    "report": ("pathway.commands.report:report", "Reports for quality review."),
    "db": ("pathway.commands.db:db", "Create, upgrade, inspect and back up the database."),
    "user": ("pathway.commands.user:user", "Manage users and their roles (administrators only)."),
    "serve": ("pathway.commands.serve:serve", "Serve the web pages and the HTTP API, signing people in, on one database."),
    "login": ("pathway.commands.login:login",
              "Sign in to the server at URL and keep a token for the commands that follow."),
    "logout": ("pathway.commands.login:logout", "Revoke the stored token on the server and forget it."),
    "demo": ("pathway.commands.demo:demo", "Walk one synthetic patient through the pathway on a throwaway SQLite database."),
}  # fmt: skip


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pathway")
@global_options
def cli() -> None:
    """Track patients with ischiofemoral impingement through their care pathway.

    Every episode is a state machine whose steps are checked against versioned rules
    stored in the database, and every step is an audited, hash-chained event.

    \b
    Examples:
      pathway episode open --patient MRN-004211 --side left
      pathway next 1
    """


def main() -> None:
    cli(prog_name="pathway")


if __name__ == "__main__":
    main()
