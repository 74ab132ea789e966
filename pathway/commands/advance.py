"""`pathway advance` and `pathway next`: the coordinator's two everyday commands."""

from __future__ import annotations

from typing import Any

import click

from pathway.commands.common import ID, App, app, emit, global_options, numbered, table, wrap_text
from pathway.domain.decisions import parse_assignments
from pathway.domain.triggers import TRIGGERS
from pathway.services import advance as service
from pathway.services.access import advance_actions


def _triggers_help() -> str:
    """The triggers, for `advance --help`: each with what it does and its fields."""
    lines = ["\b", "Triggers (`pathway next ID` shows which are possible now and why", "not the others):"]
    for spec in TRIGGERS.values():
        lines += wrap_text(f"{spec.name}: {spec.summary}", 78, indent="  ")
        if spec.fields:
            lines += wrap_text(" ".join(f.brief() for f in spec.fields), 78, indent="      ")
    return "\n".join(lines)


@click.command("advance", epilog=_triggers_help())
@click.argument("episode_id", type=ID, metavar="ID")
@click.argument("trigger")
@click.option("--on", "occurred_on", metavar="DATE", help="When it happened, YYYY-MM-DD (default: today).")
@click.option(
    "--set", "assignments", metavar="FIELD=VALUE", multiple=True, help="A field of the trigger; repeat for each."
)
@click.option(
    "--override", "override_reason", metavar="REASON", help="Go ahead despite failing guards, for this reason."
)
@click.option(
    "--expect-version", type=ID, metavar="N", help="Refuse (exit 4) unless the episode is still at version N."
)
@global_options
def advance(
    episode_id: int, trigger: str, occurred_on: str | None, assignments: tuple[str, ...],
    override_reason: str | None, expect_version: int | None,
) -> None:  # fmt: skip
    """Fire TRIGGER on episode ID, checked against its pinned rules.

    \b
    Examples:
      pathway advance 12 order_radiographs --on 2026-03-03
      pathway advance 12 record_followup --set pain=3 --set mhhs=71.5
      pathway advance 12 refer_to_surgery --override "severe pain, MDT agreed"
    """
    a = app()
    if server := a.remote():
        body = {"trigger": trigger, "occurred_on": occurred_on, "override_reason": override_reason,
                "fields": parse_assignments(assignments), "expect_version": expect_version}  # fmt: skip
        result = server.call("POST", f"/api/episodes/{episode_id}/advance", body=body)
    else:
        result = _advance_here(a, episode_id, trigger, occurred_on, assignments, override_reason, expect_version)
    if result["override_unused"]:
        click.echo("Note: no guard failed, so the override was not needed and is not recorded.", err=True)
    emit(result, _advance_human)


def _advance_here(
    a: App, episode_id: int, trigger: str, occurred_on: str | None, assignments: tuple[str, ...],
    override_reason: str | None, expect_version: int | None,
) -> dict[str, Any]:  # fmt: skip
    with a.uow(write=True) as uow:
        actions = advance_actions(trigger, override_reason is not None, assignments)
        actor = a.authorize(uow, *actions, episode_id=episode_id)
        result = service.advance(
            uow, episode_id=episode_id, trigger=trigger, assignments=assignments, occurred_on=occurred_on,
            override_reason=override_reason, actor=actor, now=a.now(), expect_version=expect_version,
        )  # fmt: skip
    return result


def _advance_human(result: dict[str, Any]) -> None:
    event = result["event"]
    overridden = event["overridden_guards"]
    click.echo(
        f"Episode {result['id']}: {event['trigger']} on {event['occurred_on']}: "
        f"{event['from_state']} -> {event['to_state']} (version {result['version']})."
    )
    derived = {k: v for k, v in event["fields"].items() if k == "pain_reduction_pct"}
    for key, value in derived.items():
        click.echo(f"  {key} = {value}")
    if overridden:
        click.echo(f"  Overrode: {', '.join(overridden)} (reason: {event['override_reason']}).")


@click.command("next")
@click.argument("episode_id", type=ID, metavar="ID")
@global_options
def next_(episode_id: int) -> None:
    """What may be done next for episode ID, and why not the rest.

    \b
    Examples:
      pathway next 12
      pathway --json next 12 | jq '.triggers[] | select(.allowed)'
    """
    a = app()
    if server := a.remote():
        result = server.call("GET", f"/api/episodes/{episode_id}/next")
    else:
        with a.uow() as uow:
            a.authorize(uow, "next", episode_id=episode_id)
            result = service.next_steps(uow, episode_id=episode_id, now=a.now())
    emit(result, _next_human)


def _next_human(result: dict[str, Any]) -> None:
    if not result["triggers"]:
        click.echo(f"Episode {result['id']} is {result['state']}: nothing more to do.")
        return
    table(
        f"Episode {result['id']} is {result['state']}; as of {result['as_of']}:",
        ("trigger", "allowed", "what it does / why not", "fields ([optional])"),
        (
            (t["trigger"], "yes" if t["allowed"] else "no", numbered(t["reasons"]) if t["reasons"] else t["summary"],
             " ".join(TRIGGERS[t["trigger"]].field(f["name"]).brief() for f in t["fields"]) or "-")  # type: ignore[union-attr]
            for t in result["triggers"]
        ),
        wrap=("what it does / why not",),
        below=("fields ([optional])",),
    )
