"""`pathway diagram`, and the diagram options that `pathway episode show` shares."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pathway.commands.common import Choice, app, emit, global_options
from pathway.diagrams import FORMATS, choose_format, render
from pathway.diagrams.graph import TITLE, Marking
from pathway.errors import InvalidInput
from pathway.files import AtomicFile
from pathway.services import diagrams as service


def diagram_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--format and --out."""
    command = click.option(
        "--out", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
        help="Write the diagram to this file (default: standard output; PNG needs a file).",
    )(command)  # fmt: skip
    return click.option(
        "--format", "fmt", type=Choice(FORMATS), help="mermaid (default), dot, svg or png (else from --out)."
    )(command)


def deliver(fmt: str | None, out: Path | None, marking: Marking | None, title: str, extra: dict[str, Any]) -> None:
    """Render, then print the text or write the file, and say so (as JSON with --json)."""
    fmt = choose_format(fmt, out)
    content = render(fmt, marking, title)
    data: dict[str, Any] = {**extra, "format": fmt}
    if out is not None:
        with AtomicFile(out) as file:
            file.write(content)
        emit({**data, "out": str(out)}, lambda d: click.echo(f"Wrote the {fmt} diagram to {out}."))
    else:
        emit({**data, "diagram": content.decode()}, lambda d: click.echo(d["diagram"], nl=False))


@click.command("diagram")
@diagram_options
@global_options
def diagram(fmt: str | None, out: Path | None) -> None:
    """Draw the pathway's state machine, with the guards on its edges, from the engine's own definition.

    \b
    Example:
      pathway diagram --out pathway.svg
    """
    a = app()
    with a.uow() as uow:
        a.authorize(uow, "diagram")
    deliver(fmt, out, None, TITLE, {})


def show_episode_diagram(episode_id: int, diagram: bool, fmt: str | None, out: Path | None) -> bool:
    """For `episode show --diagram`: draw the episode's path; False when no diagram was asked for."""
    if not diagram:
        if fmt or out:
            raise InvalidInput("--format and --out go with --diagram.")
        return False
    a = app()
    with a.uow() as uow:
        a.authorize(uow, "episode.show", episode_id=episode_id)
        data = service.episode_marking(uow, episode_id)
    marking = Marking(data["state"], [tuple(step) for step in data["steps"]])
    deliver(fmt, out, marking, f"Episode {episode_id} ({data['state']})", data)
    return True
