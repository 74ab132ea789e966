"""The worklist and the scheduled job."""

from __future__ import annotations

from typing import Any

from pathway.clock import parse_instant, site_timezone
from pathway.errors import InvalidInput
from pathway.mail import Mailer
from pathway.services import identity, notify, overdue
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


def send_digests(call: Call) -> dict[str, int]:
    """The digests go from the server, with its PATHWAY_SMTP_URL and PATHWAY_BASE_URL."""
    assert call.actor is not None
    data = call.json()
    now_text = text(data.get("now"), "now")
    now = parse_instant(now_text, "now") if now_text is not None else call.now
    dry_run = data.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise InvalidInput("dry_run must be true or false.")
    mailer = None if dry_run else Mailer.from_environment()
    return notify.notify(call.engine, actor=call.actor, now=now, mailer=mailer, site=notify.Site.from_environment(),
                         dry_run=dry_run)  # fmt: skip


ROUTES = [
    ApiRoute("GET", "/api/worklist", worklist, "Open and upcoming flags, most overdue first.",
             query=("overdue", "due_within", "kind", "limit", "now")),
    ApiRoute("POST", "/api/jobs/flag-overdue", flag_overdue, "Open the flags that have come due.", body=("now",)),
    ApiRoute("POST", "/api/jobs/notify", send_digests, "Email each user who opted in their worklist digest.",
             body=("now", "dry_run")),
]  # fmt: skip
