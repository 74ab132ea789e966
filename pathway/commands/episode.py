"""`pathway episode open|show|list|history`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pathway.commands.common import COUNT, ID, Choice, PathwayGroup, app, emit, global_options, table, value_text
from pathway.commands.diagram import diagram_options, show_episode_diagram
from pathway.domain.fields import FieldError, parse_date
from pathway.domain.states import SIDES
from pathway.errors import InvalidInput
from pathway.services import episodes, identity


@click.group(cls=PathwayGroup)
def episode() -> None:
    """Open, show, list and trace episodes (one patient, one side, one course of care)."""


@episode.command("open")
@click.option("--patient", "patient_ref", required=True, metavar="REF", help="The site's patient identifier (MRN).")
@click.option(
    "--side", required=True, type=Choice(SIDES), help="The affected side; bilateral disease needs two episodes."
)
@click.option("--referred-on", metavar="DATE", help="Referral date, YYYY-MM-DD (default: today).")
@click.option("--arthroplasty", is_flag=True, help="The hip on this side has an arthroplasty.")
@global_options
def open_(patient_ref: str, side: str, referred_on: str | None, arthroplasty: bool) -> None:
    """Open an episode at `referred` and print its id.

    \b
    Example:
      pathway episode open --patient MRN-42 --side left --referred-on 2026-03-02
    """
    a = app()
    if server := a.remote():
        try:
            referred = parse_date(referred_on, "--referred-on") if referred_on is not None else None
        except FieldError as exc:
            raise InvalidInput(str(exc)) from None
        body = {"patient_ref": patient_ref, "side": side, "has_hip_arthroplasty": arthroplasty,
                "referred_on": referred.isoformat() if referred else None}  # fmt: skip
        emit(server.call("POST", "/api/episodes", body=body), lambda data: click.echo(data["id"]))
        return
    with a.uow(write=True) as uow:
        actor = a.authorize(uow, "episode.open")
        try:
            referred = parse_date(referred_on, "--referred-on") if referred_on is not None else None
        except FieldError as exc:
            raise InvalidInput(str(exc)) from None
        new_id = episodes.open_episode(
            uow, patient_ref=patient_ref, side=side, referred_on=referred,
            has_hip_arthroplasty=arthroplasty, actor=actor, now=a.now(),
        )  # fmt: skip
    emit({"id": new_id}, lambda data: click.echo(data["id"]))


def _show_human(data: dict[str, Any]) -> None:
    table(f"Episode {data['id']}", ("field", "value"), ((k, v) for k, v in data.items() if k != "id"), wrap=("value",))


@episode.command("show")
@click.argument("episode_id", type=ID, metavar="ID")
@click.option("--diagram", is_flag=True, help="Draw the pathway with this episode's state and path marked.")
@diagram_options
@global_options
def show(episode_id: int, diagram: bool, fmt: str | None, out: Path | None) -> None:
    """Show one episode: patient, side, state, pinned rules, version (or, with --diagram, its path).

    \b
    Examples:
      pathway episode show 12
      pathway episode show 12 --diagram --out episode-12.svg
    """
    if show_episode_diagram(episode_id, diagram, fmt, out):
        return
    a = app()
    if server := a.remote():
        emit(server.call("GET", f"/api/episodes/{episode_id}"), _show_human)
        return
    with a.uow() as uow:
        actor = a.authorize(uow, "episode.show", episode_id=episode_id)
        data = identity.shown_to(actor, episodes.show_episode(uow, episode_id))
    emit(data, _show_human)


@episode.command("list")
@click.option("--state", metavar="STATE", help="Only episodes in this state.")
@click.option("--patient", "patient_ref", metavar="REF", help="Only this patient's episodes.")
@click.option("--limit", type=COUNT, help="At most this many episodes.")
@global_options
def list_(state: str | None, patient_ref: str | None, limit: int | None) -> None:
    """List episodes, oldest first.

    \b
    Example:
      pathway episode list --state conservative_care --limit 20
    """
    a = app()
    if server := a.remote():
        rows = server.call("GET", "/api/episodes", query={"state": state, "patient": patient_ref, "limit": limit})
    else:
        with a.uow() as uow:
            actor = a.authorize(uow, "episode.list", looks_up=patient_ref is not None)
            rows = identity.shown_to(actor, list(episodes.list_episodes(uow, state=state, patient_ref=patient_ref,
                                                                        limit=limit)))  # fmt: skip
    emit(
        rows,
        lambda data: table(
            None,
            ("id", "patient", "side", "state", "since", "rules", "version"),
            (
                (
                    r["id"],
                    r["patient_ref"],
                    r["side"],
                    r["state"],
                    r["state_entered_on"],
                    r["rules_version"],
                    r["version"],
                )
                for r in data
            ),
        ),
    )


def _move(event: dict[str, Any]) -> str:
    if event["to_state"] == event["from_state"]:
        return event["to_state"]
    return f"{event['from_state'] or '-'} -> {event['to_state']}"


def _fields_text(event: dict[str, Any]) -> str:
    return " ".join(f"{k}={value_text(v)}" for k, v in event["fields"].items())


@episode.command("history")
@click.argument("episode_id", type=ID, metavar="ID")
@click.option(
    "--effective", is_flag=True, help="The history as it now counts: voided events left out, corrections applied."
)
@global_options
def history(episode_id: int, effective: bool) -> None:
    """Every event of an episode, in order, with overrides and each event's status.

    A status is `effective`, `corrected by N` or `entered in error by N` (see
    `pathway correct`, `pathway void`).

    \b
    Example:
      pathway episode history 12
      pathway episode history 12 --effective
    """
    a = app()
    if server := a.remote():
        events = server.call("GET", f"/api/episodes/{episode_id}/history", query={"effective": effective})
    else:
        with a.uow() as uow:
            actor = a.authorize(uow, "episode.history", episode_id=episode_id)
            events = identity.shown_to(actor, episodes.episode_history(uow, episode_id, effective=effective))
    title = f"Episode {episode_id}: {'effective history' if effective else 'history'}"
    emit(
        events,
        lambda data: table(
            title,
            ("seq", "date", "trigger", "from -> to", "fields", "actor", "override", "status"),
            (
                (
                    e["seq"], e["occurred_on"], e["trigger"], _move(e),
                    _fields_text(e), e["actor"],
                    f"{', '.join(e['overridden_guards'])}: {e['override_reason']}" if e["override_reason"] else "",
                    e["status"],
                )
                for e in data
            ),
            below=("fields", "override"),
        ),
    )  # fmt: skip
