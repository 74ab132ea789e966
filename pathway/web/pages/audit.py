"""The audit page (administrators and reviewers): are the hash chains intact, and the access log.

What ``pathway audit verify`` and ``pathway audit access`` report, with the access
log's filters as query parameters (bookmarkable) and paged, newest first. The access
log holds user names, actions and episode ids, never a patient reference, so a reviewer
sees what the command line shows them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from pathway.domain.fields import FieldError, parse_date
from pathway.services import audit as service
from pathway.services.access_review import list_access
from pathway.web.pages.view import View
from pathway.web.routes.convert import MAX

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class Filters:
    user: str | None = None
    episode: int | None = None
    since: date | None = None
    limit: int = DEFAULT_LIMIT
    page: int = 1

    def query(self, **changes: Any) -> str:
        """This view's query string (with ``changes``), leaving out the defaults."""
        values = {"user": self.user, "episode": self.episode, "since": self.since and self.since.isoformat(),
                  "limit": None if self.limit == DEFAULT_LIMIT else self.limit,
                  "page": None if self.page == 1 else self.page}  # fmt: skip
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v is not None and v != ""})


def _whole(text: str | None, label: str, lo: int, hi: int) -> int | None:
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and lo <= int(text) <= hi):
        raise ValueError(f"{label} is a whole number from {lo} to {hi}.")
    return int(text)


def filters(view: View) -> tuple[Filters, dict[str, str]]:
    """The access log's filters from the query, with what is wrong by field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    user = view.query("user")
    if user is not None and len(user) > 128:
        errors["user"] = "A user name is at most 128 characters."
    values["user"] = user if "user" not in errors else None
    for name, label, lo, hi in (("episode", "The episode", 1, MAX), ("limit", "Rows per page", 1, MAX_LIMIT),
                                ("page", "The page number", 1, 10**6)):  # fmt: skip
        try:
            values[name] = _whole(view.query(name), label, lo, hi)
        except ValueError as exc:
            errors[name] = str(exc)
    since = view.query("since")
    try:
        values["since"] = parse_date(since, "The first day") if since else None
    except FieldError as exc:
        errors["since"] = str(exc)
    return Filters(user=values.get("user"), episode=values.get("episode"), since=values.get("since"),
                   limit=values.get("limit") or DEFAULT_LIMIT, page=values.get("page") or 1), errors  # fmt: skip


def _detail(detail: Any) -> str:
    if not detail:
        return ""
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in detail.items())
    return json.dumps(detail)


def page(view: View) -> Response:
    """The verify result and one page of the access log."""
    f, errors = filters(view)
    form = {name: view.query(name) or "" for name in ("user", "episode", "since", "limit")}
    assert view.actor is not None
    with view.uow() as uow:
        view.authorize(uow, "audit.access", "audit.verify")
        verified = service.verify(uow)
        rows = [] if errors else list_access(
            uow, user=f.user, episode_id=f.episode, since=f.since, limit=f.limit + 1,
            offset=(f.page - 1) * f.limit, newest_first=True, actor=view.actor, now=view.now)  # fmt: skip
    more = len(rows) > f.limit
    shown = [{**r, "detail_text": _detail(r["detail"])} for r in rows[: f.limit]]
    return view.page("audit.html", verified=verified, rows=shown, more=more, f=f, form=form, errors=errors,
                     nav="audit", status=400 if errors else 200)  # fmt: skip
