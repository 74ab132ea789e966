"""Pictures of the pathway, generated from the machine definition the engine runs."""

from __future__ import annotations

from pathlib import Path

from pathway.diagrams.graph import FORMATS, PICTURE_FORMATS, TITLE, Marking, dot, mermaid
from pathway.errors import InvalidInput

SUFFIXES = {".mmd": "mermaid", ".mermaid": "mermaid", ".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png"}


def choose_format(fmt: str | None, out: Path | None) -> str:
    """--format, else the --out file's suffix, else Mermaid; PNG needs a file to go to."""
    if fmt is None and out is not None:
        fmt = SUFFIXES.get(out.suffix.lower())
        if fmt is None:
            raise InvalidInput(f"Cannot tell the format from {out.name!r}; add --format ({', '.join(FORMATS)}).")
    fmt = fmt or "mermaid"
    if fmt == "png" and out is None:
        raise InvalidInput("A PNG picture needs a file: add --out PATH.png.")
    return fmt


def render(fmt: str, marking: Marking | None = None, title: str = TITLE) -> bytes:
    """The diagram in ``fmt`` (mermaid, dot, svg or png) as bytes."""
    if fmt in PICTURE_FORMATS:
        from pathway.diagrams.picture import render as picture  # matplotlib loads only when a picture is asked for

        return picture(fmt, marking, title)
    return (mermaid if fmt == "mermaid" else dot)(marking, title).encode()
