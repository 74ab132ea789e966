"""The `pathway` command line: the root group and its global options.

Each command group lives in ``pathway/commands``; this module only assembles them.
"""

from __future__ import annotations

import click

from pathway import __version__
from pathway.commands.advance import advance, next_
from pathway.commands.audit import audit
from pathway.commands.common import PathwayGroup, global_options
from pathway.commands.corrections import correct, void
from pathway.commands.db import db
from pathway.commands.demo import demo
from pathway.commands.diagram import diagram
from pathway.commands.episode import episode
from pathway.commands.jobs import jobs
from pathway.commands.report import report
from pathway.commands.rules import rules
from pathway.commands.user import user
from pathway.commands.worklist import worklist


@click.group(cls=PathwayGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pathway")
@global_options
def cli() -> None:
    """Track patients with ischiofemoral impingement through their care pathway.

    Every episode is a state machine whose steps are checked against versioned rules
    stored in the database, and every step is an audited, hash-chained event.
    """


for command in (episode, advance, next_, correct, void, worklist, jobs, rules, diagram, audit, report, db, user, demo):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="pathway")


if __name__ == "__main__":
    main()
