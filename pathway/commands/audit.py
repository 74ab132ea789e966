"""`pathway audit verify|export`."""

from __future__ import annotations

import json
from typing import Any

import click

from pathway.commands.common import app, global_options
from pathway.services import audit as service


@click.group()
def audit() -> None:
    """Prove the audit trail intact, and export it for review."""


def _verify_human(data: dict[str, Any]) -> None:
    for item in data["broken"]:
        where = "episode row" if item["where"] == "episode" else f"event {item['seq']}"
        click.echo(f"episode {item['episode_id']}: {item['kind']} ({where}): {item['message']}")


@audit.command("verify")
@click.option("--episode", "episode_id", type=int, metavar="ID", help="Check this episode only.")
@global_options
def verify(episode_id: int | None) -> None:
    """Recompute every hash chain and check it against the chain head on its episode row.

    Prints the first broken link of each episode (edited, deleted, inserted or reordered
    events, or an episode row that disagrees with its chain); exit 0 when all is intact,
    1 when not.
    """
    a = app()
    with a.uow() as uow:
        data = service.verify(uow, episode_id=episode_id)
    if a.json:
        click.echo(json.dumps(data, indent=2))
    else:
        _verify_human(data)
    episodes = f"{data['episodes']} episode{'s' if data['episodes'] != 1 else ''}"
    if data["intact"]:
        click.echo(f"Intact: {episodes} and {data['events']} events match their hash chains and chain heads.", err=True)
        return
    ids = ", ".join(str(b["episode_id"]) for b in data["broken"][:10]) + (" …" if len(data["broken"]) > 10 else "")
    click.echo(f"Not intact: {len(data['broken'])} of {episodes} have a broken chain (episodes {ids}).", err=True)
    raise click.exceptions.Exit(1)
