"""Opening an episode in the browser: the same checks as `pathway episode open`, shown by the field."""

from __future__ import annotations

import re

from starlette.responses import Response

from pathway.domain.fields import FieldError, parse_date
from pathway.domain.states import SIDES
from pathway.errors import InvalidInput
from pathway.services import episodes
from pathway.web.pages.view import View


def form(view: View) -> Response:
    """The empty form."""
    with view.uow() as uow:
        view.authorize(uow, "episode.open")
    return view.page("open.html", values={}, errors={}, problem=None, nav="open", today=_today(view), existing=None)


def _today(view: View) -> str:
    from pathway.clock import site_timezone

    return view.now.astimezone(site_timezone()).date().isoformat()


def submit(view: View) -> Response:
    """Open it and go to its page; a refusal (a duplicate episode, bad input) next to its field."""
    values = {k: view.form.get(k, "").strip() for k in ("patient_ref", "side", "referred_on")}
    arthroplasty = view.form.get("has_hip_arthroplasty") == "true"
    errors: dict[str, str] = {}
    if not values["patient_ref"]:
        errors["patient_ref"] = "Enter the patient reference (the site's patient identifier)."
    if values["side"] not in SIDES:
        errors["side"] = "Choose the side: left or right."
    referred = None
    if values["referred_on"]:
        try:
            referred = parse_date(values["referred_on"], "The referral date")
        except FieldError as exc:
            errors["referred_on"] = str(exc)
    status, existing = 400, None
    if not errors:
        try:
            with view.uow(write=True) as uow:
                actor = view.authorize(uow, "episode.open")
                new_id = episodes.open_episode(uow, patient_ref=values["patient_ref"], side=values["side"],
                                               referred_on=referred, has_hip_arthroplasty=arthroplasty, actor=actor,
                                               now=view.now)  # fmt: skip
            return view.redirect(f"/episodes/{new_id}?done=open")
        except InvalidInput as exc:
            field = "referred_on" if "referr" in exc.message.lower() else "patient_ref"
            errors[field] = exc.message
            found = re.search(r"\(episode (\d+)\)", exc.message)
            existing = int(found.group(1)) if found else None
    return view.page("open.html", status=status, values={**values, "has_hip_arthroplasty": arthroplasty},
                     errors=errors, problem="The episode was not opened; see below.", nav="open",
                     today=_today(view), existing=existing)  # fmt: skip
