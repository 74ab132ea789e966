"""Help that teaches and errors that suggest: examples, triggers and their fields, did-you-mean."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from freezegun import freeze_time

from cli import cli
from tests.conftest import Pathway
from tests.walk import episode_before


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append(((*path, name), command))
    return found


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    for path, _command in _commands(cli):
        shown = runner.invoke(cli, [*path, "--help"], env={"COLUMNS": "80"}).output
        assert "Example" in shown and "  pathway " in shown.split("Example", 1)[1], path


def test_help_fits_80_columns_and_listings_are_not_cut_mid_sentence() -> None:
    runner = CliRunner()
    ctx = click.Context(cli)
    groups = [()] + [(name,) for name in cli.list_commands(ctx) if isinstance(cli.get_command(ctx, name), click.Group)]
    for path in groups:
        shown = runner.invoke(cli, [*path, "--help"], env={"COLUMNS": "80"}).output
        listing = shown.split("Commands:", 1)[1]
        assert "..." not in listing, path
        assert all(len(line) <= 80 for line in shown.splitlines()), path
    for path, _command in _commands(cli):  # and every command's own help
        shown = runner.invoke(cli, [*path, "--help"], env={"COLUMNS": "80"}).output
        assert [line for line in shown.splitlines() if len(line) > 80] == [], path


def test_advance_help_lists_every_trigger_with_its_fields() -> None:
    from pathway.domain.triggers import TRIGGERS

    shown = CliRunner().invoke(cli, ["advance", "--help"]).output
    for name in TRIGGERS:
        assert f"  {name}: " in shown, name
    assert "approach=endoscopic|open" in shown and "[open_indication=" in shown


def test_next_lists_each_triggers_fields_in_json(pathway: Pathway) -> None:
    with freeze_time("2026-12-01"):
        eid = episode_before(pathway, "schedule_surgery", "MRN-1")
        data = pathway.json("next", str(eid))
    schedule = next(t for t in data["triggers"] if t["trigger"] == "schedule_surgery")
    assert schedule["fields"] == [
        {"name": "approach", "type": "choice", "choices": ["endoscopic", "open"], "required": True},
        {"name": "open_indication", "type": "choice", "choices": ["severe", "endoscopic_not_feasible", "complex"],
         "required": False},
        {"name": "planned_on", "type": "date", "required": True},
    ]  # fmt: skip
    ret = next(t for t in data["triggers"] if t["trigger"] == "return_to_conservative")
    assert ret["fields"] == [{"name": "reason", "type": "text", "max_length": 1000, "required": True}]


@pytest.mark.parametrize(("before", "args", "suggestion"), [
    ("schedule_surgery", ["schedule_surgry"], "did you mean schedule_surgery?"),
    ("schedule_surgery", ["schedule_surgery", "--set", "aproach=open"], "did you mean approach?"),
    ("schedule_surgery", ["schedule_surgery", "--set", "approach=endoscopc", "--set", "planned_on=2026-07-01"],
     "did you mean endoscopic?"),
])  # fmt: skip
def test_a_mistyped_name_gets_the_closest_valid_one(
    pathway: Pathway, before: str, args: list[str], suggestion: str
) -> None:
    with freeze_time("2026-12-01"):
        eid = episode_before(pathway, before, "MRN-1")
        result = pathway("advance", str(eid), *args)
    assert result.exit_code == 2 and suggestion in result.stderr, result.stderr


def test_an_unknown_trigger_lists_those_possible_now_first(pathway: Pathway) -> None:
    with freeze_time("2026-12-01"):
        eid = episode_before(pathway, "schedule_surgery", "MRN-1")
        message = pathway("advance", str(eid), "shedule").stderr
    assert "Possible from surgical_referral: return_to_conservative, schedule_surgery, close, amend" in message or (
        message.index("Possible from surgical_referral") < message.index("the others:")
    )


def test_options_suggest_too(pathway: Pathway) -> None:
    state = pathway("episode", "list", "--state", "conservative")
    assert state.exit_code == 2 and "did you mean conservative_care?" in state.stderr
    kind = pathway("worklist", "--kind", "mri")
    assert kind.exit_code == 2 and "did you mean mri_report?" in kind.stderr


def test_rules_show_takes_n_like_rules_export(pathway: Pathway) -> None:
    assert pathway.json("rules", "show", "1")["version"] == 1
    assert pathway.json("rules", "show", "--version", "1")["version"] == 1
    assert pathway("rules", "show", "7").exit_code == 3
    assert pathway("rules", "show", "1", "--version", "2").exit_code == 2


def test_reasons_are_numbered_alike_in_next_and_advance(pathway: Pathway) -> None:
    with freeze_time("2026-12-01"):
        eid = episode_before(pathway, "refer_to_surgery", "MRN-1")
        pathway.ok("advance", str(eid), "reassess", "--set", "outcome=improved", "--set", "pain=3")
        refused = pathway("advance", str(eid), "refer_to_surgery").stderr
        shown = pathway.ok("next", str(eid)).stdout
    assert "Reasons: (1) " in refused
    row = next(line for line in shown.splitlines() if line.startswith("refer_to_surgery\t"))
    assert "(1) " in row


def test_no_relief_reads_as_english(pathway: Pathway) -> None:
    with freeze_time("2026-12-01"):
        eid = episode_before(pathway, "inject", "MRN-1")
        pathway.ok("advance", str(eid), "inject", "--set", "guidance=ultrasound", "--set", "agent=anaesthetic_only")
        pathway.ok("advance", str(eid), "record_injection_response", "--set", "pain_before=6", "--set",
                   "pain_after=6", "--set", "relief=none")  # fmt: skip
        message = pathway("advance", str(eid), "inject", "--set", "guidance=ultrasound", "--set",
                          "agent=anaesthetic_only").stderr  # fmt: skip
    assert "gave no relief" in message and "none relief" not in message


def test_the_registry_help_is_each_commands_own_first_sentence() -> None:
    """`pathway --help` lists commands from cli.COMMANDS without importing them: it must say what they say."""
    from cli import COMMANDS

    ctx = click.Context(cli)
    for name, (_, listed) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.get_short_help_str(limit=1000) == listed, name


def test_pathway_help_imports_no_command_module() -> None:
    import subprocess
    import sys

    code = ("import sys; from click.testing import CliRunner; from cli import cli; CliRunner().invoke(cli, ['--help']);"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'rich', 'transitions',"
            " 'matplotlib', 'alembic', 'psycopg') or m.startswith('pathway.commands.') and m != 'pathway.commands.base'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
