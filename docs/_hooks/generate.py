"""MkDocs hook: fill each ``<!-- generated: NAME -->`` marker with a table from the code.

Keeps the specification page's tables (states, triggers, fields, guards, timers, default
rules) generated from pathway's domain definitions, so the site cannot drift from the
engine. An unknown name fails the build.
"""

from __future__ import annotations

import re
from typing import Any

from pathway.spec_tables import TABLES

MARKER = re.compile(r"<!-- generated: ([a-z-]+) -->")


def on_page_markdown(markdown: str, **_: Any) -> str:
    def table(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in TABLES:
            raise ValueError(f"unknown generated table {name!r}; known: {', '.join(TABLES)}")
        return TABLES[name]()

    return MARKER.sub(table, markdown)


def on_files(files: Any, config: Any, **_: Any) -> Any:
    """Add the pathway diagram, drawn from the engine's definition, as a page asset."""
    from mkdocs.structure.files import File

    from pathway.diagrams import render

    files.append(File.generated(config, "specification/pathway.svg", content=render("svg")))
    return files
