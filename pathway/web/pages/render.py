"""Jinja2 templates for the pages: one environment, autoescaped, with the few filters pages share."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from pathway import __version__
from pathway.clock import site_timezone

if TYPE_CHECKING:
    from pathway.web.pages.view import View


def words(name: str | None) -> str:
    """``radiographs_ordered`` → ``radiographs ordered``: names as people read them."""
    return (name or "").replace("_", " ")


_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


def shown(value: Any) -> str:
    """A recorded value as people read it: yes/no, lists joined, choice names in words."""
    if value is True or value is False:
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return words(text) if _IDENTIFIER.fullmatch(text) else text


def local_time(value: str | datetime | None) -> str:
    """An instant in the site's zone, to the minute (stored UTC; people read local time)."""
    if value is None or value == "":
        return ""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant.astimezone(site_timezone()).strftime("%Y-%m-%d %H:%M")


def day(value: str | date | None) -> str:
    if value is None or value == "":
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("pathway.web", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,  # a misspelt name fails the page's test instead of printing nothing
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(words=words, local_time=local_time, day=day, shown=shown)
    env.globals["version"] = __version__
    return env


def render(view: View, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    page = environment().get_template(template)
    idle = int(view.settings.policy.idle.total_seconds())
    html = page.render(view=view, user=view.actor.name if view.actor else None, roles=view.roles,
                       csrf=view.csrf, idle_seconds=idle, **context)  # fmt: skip
    return HTMLResponse(html, status_code=status)
