"""The episode page and its step forms: where the patient stands, what may happen next, and why not.

Each step's form is generated from its trigger's field specification, so the browser
already refuses a value out of range; the server checks again with the same code as
the CLI, and a problem is shown next to the field it names, the rest kept as typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import Response

from pathway.domain.access import OVERRIDE
from pathway.domain.history import CORRECTIONS, OPEN
from pathway.domain.triggers import OPENING, TRIGGERS
from pathway.errors import Conflict, InvalidInput, PathwayError, Refused
from pathway.services import advance as stepping
from pathway.services import identity
from pathway.services.access import advance_actions
from pathway.services.episode_page import episode_overview
from pathway.web.pages.view import View

FORM_STATUS = {1: 422, 2: 400, 4: 409}


def field_errors(message: str, names: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """A service's message split into problems by the field each names; the rest for the form's top.

    Messages name fields the way the command line does (``pain must be 0-10``, ``inject
    needs guidance ...; add --set guidance=VALUE``): the first field named is the one.
    """
    by_field: dict[str, str] = {}
    other: list[str] = []
    for part in (p.strip().rstrip(".") for p in message.split("; ")):
        if not part or part.startswith("add --set"):
            continue
        words = part.replace("(", " ").replace(",", " ").split()
        name = next((w for w in words[:4] if w in names), None)
        if name is not None and name not in by_field:
            by_field[name] = part[0].upper() + part[1:] + "."
        else:
            other.append(part[0].upper() + part[1:] + ".")
    return by_field, other


def form_values(form: Mapping[str, str], fields: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The submitted values of a step's fields (blank ones left out: an optional field not given)."""
    return {f["name"]: form[f["name"]].strip() for f in fields if form.get(f["name"], "").strip()}


def _page(view: View, episode_id: int, *, status: int = 200, problem: dict[str, Any] | None = None) -> Response:
    with view.uow() as uow:
        actor = view.authorize(uow, "episode.show", episode_id=episode_id)
        data = identity.shown_to(actor, episode_overview(uow, episode_id=episode_id, now=view.now))
    from pathway.diagrams.graph import Marking
    from pathway.diagrams.inline import episode_svg

    svg = episode_svg(Marking(data["episode"]["state"], [tuple(s) for s in data["steps"]]))
    done = view.query("done")
    return view.page("episode.html", status=status, data=data, svg=svg, problem=problem or {}, nav=None,
                     done=done if done in (*TRIGGERS, "correct", "void") else None,
                     may_override=view.can(OVERRIDE),
                     may_step=view.can("advance"), corrections=CORRECTIONS)  # fmt: skip


def show(view: View) -> Response:
    """The episode page."""
    return _page(view, view.path_id())


def advance(view: View) -> Response:
    """Record a step from its form; post/redirect/get on success, the page with the problem otherwise."""
    episode_id = view.path_id()
    trigger = view.form.get("trigger", "")
    spec = TRIGGERS.get(trigger)
    if spec is None:
        raise InvalidInput("That step is not one pathway knows; reload the episode page and choose a step from it.")
    fields = [f.as_dict() for f in spec.fields]
    values = form_values(view.form, fields)
    reason = view.form.get("override_reason", "").strip() or None
    if view.form.get("override") == "1" and reason is None:
        problem = {"trigger": trigger, "values": dict(view.form), "fields": {},
                   "override": "Say why the pathway rule is overridden; the reason is kept on the record.",
                   "form": ["An override needs a reason."]}  # fmt: skip
        return _page(view, episode_id, status=400, problem=problem)
    expect = view.form.get("expect_version", "")
    try:
        with view.uow(write=True) as uow:
            actions = advance_actions(trigger, reason is not None, [f"{k}=" for k in values])
            actor = view.authorize(uow, *actions, episode_id=episode_id)
            stepping.advance(
                uow, episode_id=episode_id, trigger=trigger, assignments=values,
                occurred_on=view.form.get("occurred_on", "").strip() or None, override_reason=reason, actor=actor,
                now=view.now, expect_version=int(expect) if expect.isdigit() else None,
            )  # fmt: skip
    except (Refused, InvalidInput, Conflict) as exc:
        problem = _problem(trigger, exc, [*values, "occurred_on"]) | {"values": dict(view.form)}
        return _page(view, episode_id, status=FORM_STATUS.get(exc.exit_code, 400), problem=problem)
    return view.redirect(f"/episodes/{episode_id}?done={trigger}#timeline")


def _problem(trigger: str, exc: PathwayError, names: Sequence[str]) -> dict[str, Any]:
    """What to show in the step's form: reasons for a refusal, messages by field for bad input."""
    if isinstance(exc, Refused):
        return {"trigger": trigger, "fields": {}, "form": [exc.message], "reasons": exc.details,
                "overridable": exc.overridable}  # fmt: skip
    if isinstance(exc, Conflict):
        return {"trigger": trigger, "fields": {}, "form": [
            "Someone else recorded a step on this episode since you opened the page; it is shown below. "
            "Check the episode and submit again if the step is still right."]}  # fmt: skip
    by_field, other = field_errors(exc.message, [*names, *(f.name for f in TRIGGERS[trigger].fields)])
    if "occurred_on" not in by_field and any("date" in o.lower() for o in other):
        by_field["occurred_on"] = other.pop(next(i for i, o in enumerate(other) if "date" in o.lower()))
    return {"trigger": trigger, "fields": by_field, "form": other}


def event_fields(trigger: str) -> list[dict[str, Any]]:
    """The fields an event of ``trigger`` carries, as its form shows them."""
    spec = OPENING if trigger == OPEN else TRIGGERS[trigger]
    return [f.as_dict() for f in spec.fields]

