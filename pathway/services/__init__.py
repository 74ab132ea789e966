"""Use cases: each function runs one command's work inside a unit of work.

They take plain values and return plain, JSON-ready data; the CLI only parses and
renders, so a Python user can call these directly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who is acting, and in which role (None in open single-user mode)."""

    name: str
    role: str | None = None
