"""The home page: the worklist, filtered by URL query (bookmarkable), searched by POST, as CSV.

Filters live in the query string so a view can be bookmarked and shared. A search by
patient reference is posted instead: a reference must never reach a URL, a browser's
history or a proxy's log.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from pathway.clock import site_timezone
from pathway.domain.states import STATES
from pathway.domain.timers import KINDS
from pathway.errors import InvalidInput
from pathway.services import identity
from pathway.services import worklist as service
from pathway.web.pages.view import View

PAGE_SIZE = 50
CSV_LIMIT = 100_000
COLUMNS = ("episode_id", "patient_ref", "side", "state", "kind", "milestone", "due_on", "overdue_on", "status",
           "days_overdue")  # fmt: skip


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    state: str | None = None
    overdue: bool = False
    due_within: int = 0
    page: int = 1

    def query(self, **changes: Any) -> str:
        """The query string of this view (with ``changes``), without the defaults."""
        values = {"kind": self.kind, "state": self.state, "overdue": "1" if self.overdue else None,
                  "due_within": self.due_within or None, "page": self.page if self.page > 1 else None}  # fmt: skip
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in (None, "", 0)})


def _whole(text: str | None, what: str, maximum: int) -> int | None:
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or int(text) > maximum:
        raise InvalidInput(f"{what} must be a whole number from 0 to {maximum}.")
    return int(text)


def filters(source: dict[str, str] | Any) -> Filters:
    """The view's filters from a query string or form; a bad one is refused with what is allowed."""
    get = lambda name: (source.get(name) or "").strip() or None  # noqa: E731
    kind, state = get("kind"), get("state")
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"There is no flag kind {kind[:40]!r}; choose one of: {', '.join(KINDS)}.")
    if state is not None and state not in STATES:
        raise InvalidInput(f"There is no state {state[:40]!r}; choose one of: {', '.join(STATES)}.")
    return Filters(kind=kind, state=state, overdue=get("overdue") in ("1", "true", "on"),
                   due_within=_whole(get("due_within"), "Due within (days)", 3650) or 0,
                   page=max(1, _whole(get("page"), "The page number", 10**6) or 1))  # fmt: skip


def _today(view: View) -> date:
    return view.now.astimezone(site_timezone()).date()


def _rows(view: View, f: Filters, *, search: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    with view.uow() as uow:
        actor = view.authorize(uow, "worklist", looks_up=search is not None)
        return identity.shown_to(actor, list(service.worklist(
            uow, today=_today(view), overdue_only=f.overdue, due_within=f.due_within, kind=f.kind, state=f.state,
            search=search, limit=limit, offset=offset)))


def _page(view: View, f: Filters, *, search: str | None = None, problem: str | None = None) -> Response:
    rows: list[dict[str, Any]] = []
    if problem is None:
        rows = _rows(view, f, search=search, limit=PAGE_SIZE + 1, offset=(f.page - 1) * PAGE_SIZE)
    more = len(rows) > PAGE_SIZE
    partial = view.request.headers.get("hx-request") and view.request.headers.get("hx-target") == "results"
    return view.page("worklist_results.html" if partial else "worklist.html", f=f, rows=rows[:PAGE_SIZE], more=more,
                     search=search or "", problem=problem, kinds=KINDS, states=STATES, today=_today(view),
                     nav="worklist", status=400 if problem else 200)  # fmt: skip


def home(view: View) -> Response:
    """The worklist, most overdue first."""
    try:
        f = filters(view.request.query_params)
    except InvalidInput as exc:
        return _page(view, Filters(), problem=exc.message)
    return _page(view, f)


def search(view: View) -> Response:
    """Rows whose patient reference contains the text searched (posted, so it stays out of URLs)."""
    f = filters(view.form)
    text = (view.form.get("q") or "").strip()
    if len(text) < service.MIN_SEARCH:
        return _page(view, f, search=text, problem=f"Type at least {service.MIN_SEARCH} characters of the "
                                                   "patient reference to search.")  # fmt: skip
    if view.form.get("format") == "csv":
        return _csv(view, f, search=text)
    try:
        return _page(view, f, search=text)
    except InvalidInput as exc:
        return _page(view, f, search=text, problem=exc.message)


def _csv(view: View, f: Filters, *, search: str | None) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in _rows(view, f, search=search, limit=CSV_LIMIT, offset=0):
        writer.writerow(["" if row[c] is None else row[c] for c in COLUMNS])
    name = f"worklist-{_today(view).isoformat()}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def download(view: View) -> Response:
    """The current filtered view (every page) as CSV, for a spreadsheet."""
    return _csv(view, filters(view.request.query_params), search=None)
