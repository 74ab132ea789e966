"""The worklist and the scheduled job."""

from __future__ import annotations

from typing import Any

from pathway.clock import parse_instant, site_timezone
from pathway.services import identity, overdue
from pathway.services import worklist as service
from pathway.web.call import Call
from pathway.web.routes import ApiRoute
from pathway.web.routes.convert import flag, text, whole


def worklist(call: Call) -> list[dict[str, Any]]:
    now_text = call.query("now")
    now = parse_instant(now_text, "now") if now_text is not None else call.now
    limit = whole(call.query("limit"), "limit", minimum=0)
    with call.uow() as uow:
        actor = call.authorize(uow, "worklist")
        return identity.shown_to(actor, list(service.worklist(
            uow, today=now.astimezone(site_timezone()).date(), overdue_only=flag(call.query("overdue"), "overdue"),
            due_within=whole(call.query("due_within"), "due_within", minimum=0) or 0, kind=call.query("kind"),
            limit=100 if limit is None else (limit or None),
        )))  # fmt: skip


def flag_overdue(call: Call) -> dict[str, int]:
    now_text = text(call.json().get("now"), "now")
    now = parse_instant(now_text, "now") if now_text is not None else call.now
    with call.uow() as uow:
        call.authorize(uow, "jobs.flag-overdue")
    return overdue.flag_overdue(call.engine, now=now)


ROUTES = [
    ApiRoute("GET", "/api/worklist", worklist, "Open and upcoming flags, most overdue first.",
             query=("overdue", "due_within", "kind", "limit", "now")),
    ApiRoute("POST", "/api/jobs/flag-overdue", flag_overdue, "Open the flags that have come due.", body=("now",)),
]  # fmt: skip
