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
    tables = {**TABLES, "api": api_table}

    def table(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in tables:
            raise ValueError(f"unknown generated table {name!r}; known: {', '.join(tables)}")
        return tables[name]()

    return MARKER.sub(table, markdown)


def on_files(files: Any, config: Any, **_: Any) -> Any:
    """Add the pathway diagram, drawn from the engine's definition, as a page asset."""
    from mkdocs.structure.files import File

    from pathway.diagrams import render

    files.append(File.generated(config, "specification/pathway.svg", content=render("svg")))
    return files


def api_table() -> str:
    """Every HTTP route, from the OpenAPI document the server itself serves."""
    from pathway import __version__
    from pathway.web import openapi
    from pathway.web.app import ROUTES

    document = openapi.document(ROUTES, __version__)
    lines = ["| method | path | what it does | parameters | success | sign-in |", "|---|---|---|---|---|---|"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            params = [p["name"] for p in operation["parameters"]]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            params += [f"{name} (body)" for name in body.get("schema", {}).get("properties", {})]
            success = next(code for code in operation["responses"] if code[0] in "23")
            signed = "required" if "security" in operation else "none"
            cell = ", ".join(f"`{p}`" for p in params) or "—"
            lines.append(f"| {method.upper()} | `{path}` | {operation['summary']} | {cell} | {success} | {signed} |")
    return "\n".join(lines) + "\n"
