"""`pathway correct` and `pathway void`: putting a mis-keyed event right, audited."""

from __future__ import annotations

from typing import Any

import click

from pathway.commands.common import ID, app, emit, global_options, value_text
from pathway.domain.decisions import parse_assignments
from pathway.domain.history import CORRECT, VOID
from pathway.services import corrections as service

_OVERRIDE_HELP = "Go ahead although later events would no longer be supported, for this reason (clinicians)."
_VERSION_HELP = "Refuse (exit 4) unless the episode is still at version N."


@click.command("correct")
@click.argument("episode_id", type=ID, metavar="ID")
@click.argument("seq", type=ID, metavar="SEQ")
@click.option(
    "--set", "assignments", metavar="FIELD=VALUE", multiple=True, help="The corrected value of a field; repeat."
)
@click.option("--on", "occurred_on", metavar="DATE", help="The corrected clinical date, YYYY-MM-DD.")
@click.option("--reason", required=True, metavar="TEXT", help="Why the record is corrected (kept on the record).")
@click.option("--override", "override_reason", metavar="REASON", help=_OVERRIDE_HELP)
@click.option("--expect-version", type=ID, metavar="N", help=_VERSION_HELP)
@global_options
def correct(
    episode_id: int, seq: int, assignments: tuple[str, ...], occurred_on: str | None, reason: str,
    override_reason: str | None, expect_version: int | None,
) -> None:  # fmt: skip
    """Correct fields and/or the date of event SEQ of episode ID with a new, audited event.

    The episode is re-derived from the corrected history: its state, facts and flags.

    \b
    Example:
      pathway correct 12 5 --set ifs_mm=17 --reason "IFS mis-keyed"
    """
    a = app()
    if server := a.remote():
        body = {"fields": parse_assignments(assignments), "occurred_on": occurred_on, "reason": reason,
                "override_reason": override_reason, "expect_version": expect_version}  # fmt: skip
        result = server.call("POST", f"/api/episodes/{episode_id}/events/{seq}/correct", body=body)
    else:
        with a.uow(write=True) as uow:
            actions = service.rights(uow, episode_id=episode_id, seq=seq, change=CORRECT, assignments=assignments,
                                     override=override_reason is not None)  # fmt: skip
            actor = a.authorize(uow, *actions, episode_id=episode_id)
            result = service.correct(
                uow, episode_id=episode_id, seq=seq, assignments=assignments, occurred_on=occurred_on,
                reason=reason, override_reason=override_reason, actor=actor, now=a.now(),
                expect_version=expect_version,
            )  # fmt: skip
    _note_unused(result)
    emit(result, _human)


@click.command("void")
@click.argument("episode_id", type=ID, metavar="ID")
@click.argument("seq", type=ID, metavar="SEQ")
@click.option("--reason", required=True, metavar="TEXT", help="Why event SEQ was entered in error.")
@click.option("--override", "override_reason", metavar="REASON", help=_OVERRIDE_HELP)
@click.option("--expect-version", type=ID, metavar="N", help=_VERSION_HELP)
@global_options
def void(episode_id: int, seq: int, reason: str, override_reason: str | None, expect_version: int | None) -> None:
    """Mark event SEQ of episode ID entered in error: it no longer counts.

    Voiding the latest event returns the episode to where it was before it; the
    opening event cannot be voided (close the episode instead).

    \b
    Example:
      pathway void 12 9 --reason "follow-up recorded twice"
    """
    a = app()
    if server := a.remote():
        body = {"reason": reason, "override_reason": override_reason, "expect_version": expect_version}
        result = server.call("POST", f"/api/episodes/{episode_id}/events/{seq}/void", body=body)
    else:
        with a.uow(write=True) as uow:
            actions = service.rights(uow, episode_id=episode_id, seq=seq, change=VOID,
                                     override=override_reason is not None)  # fmt: skip
            actor = a.authorize(uow, *actions, episode_id=episode_id)
            result = service.void(
                uow, episode_id=episode_id, seq=seq, reason=reason, override_reason=override_reason, actor=actor,
                now=a.now(), expect_version=expect_version,
            )  # fmt: skip
    _note_unused(result)
    emit(result, _human)


def _note_unused(result: dict[str, Any]) -> None:
    if result["override_unused"]:
        click.echo("Note: no later event needed it, so the override was not needed and is not recorded.", err=True)


def _human(result: dict[str, Any]) -> None:
    event = result["event"]
    fields = event["fields"]
    what = "corrected" if event["trigger"] == CORRECT else "entered in error"
    click.echo(f"Episode {result['id']}: event {result['target']} {what} by event {event['seq']}.")
    for name, value in fields.get("set", {}).items():
        click.echo(f"  {name} = {value_text(value)}")
    if "occurred_on" in fields:
        click.echo(f"  date = {fields['occurred_on']}")
    moved = f"{event['from_state']} -> {event['to_state']}" if event["from_state"] != event["to_state"] else "unchanged"
    click.echo(f"  State: {event['to_state']} ({moved}); version {result['version']}.")
    if event["overridden_guards"]:
        click.echo(f"  Overrode: {', '.join(event['overridden_guards'])} (reason: {event['override_reason']}).")
