"""Correcting an event, or marking it entered in error, from the episode's timeline.

The correction form shows the event's fields with the values that now count; only what
is changed is sent, as `pathway correct --set` would send it, with a required reason.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from pathway.domain.access import OVERRIDE
from pathway.domain.history import CORRECT, CORRECTIONS, OPEN, VOID
from pathway.domain.triggers import OPENING, TRIGGERS
from pathway.errors import Conflict, InvalidInput, NotFound, Refused
from pathway.services import corrections as service
from pathway.services import identity
from pathway.services.episodes import episode_history, show_episode
from pathway.web.pages.episode import FORM_STATUS, field_errors
from pathway.web.pages.view import View

Event = tuple[dict[str, Any], dict[str, Any], dict[str, Any], list[dict[str, Any]]]


def _event(view: View, episode_id: int, seq: int, change: str = CORRECT) -> Event:
    """The episode, the event as recorded and as it now counts, and the fields its form shows."""
    with view.uow() as uow:
        actor = view.authorize(uow, "episode.history", episode_id=episode_id)
        episode = identity.shown_to(actor, show_episode(uow, episode_id))
        recorded = identity.shown_to(actor, episode_history(uow, episode_id))
        effective = identity.shown_to(actor, episode_history(uow, episode_id, effective=True))
    event = next((e for e in recorded if e["seq"] == seq), None)
    undoing = event is not None and change == VOID and event["trigger"] == CORRECT  # voiding a correction undoes it
    if event is None or (event["trigger"] in CORRECTIONS and not undoing):
        raise NotFound(f"Episode {episode_id} has no event {seq} that can be {'corrected' if change == CORRECT else 'voided'}.")
    now = next((e for e in effective if e["seq"] == seq), event)
    if undoing:
        return episode, event, now, []
    spec = OPENING if event["trigger"] == OPEN else TRIGGERS[event["trigger"]]
    return episode, event, now, [f.as_dict() for f in spec.fields]


def _ids(view: View) -> tuple[int, int]:
    return view.path_id(), view.path_id("seq")


def _form(view: View, template: str, *, status: int = 200, problem: dict[str, Any] | None = None) -> Response:
    episode_id, seq = _ids(view)
    episode, event, now, fields = _event(view, episode_id, seq, VOID if template == "void.html" else CORRECT)
    current = {f["name"]: _text(now["fields"].get(f["name"])) for f in fields}
    return view.page(template, status=status, episode=episode, event=event, now=now, fields=fields,
                     current=current, values=dict(view.form) if problem else current, problem=problem or {},
                     may_override=view.can(OVERRIDE), nav=None)  # fmt: skip


def _text(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return "" if value is None else str(value)


def _may(view: View, change: str) -> None:
    """A form only for those who may send it: a 403 page, and the refusal logged, for the others."""
    episode_id, seq = _ids(view)
    with view.uow() as uow:
        view.authorize(uow, *service.rights(uow, episode_id=episode_id, seq=seq, change=change), episode_id=episode_id)


def correct_form(view: View) -> Response:
    """The correction form, filled with the values that now count."""
    _may(view, CORRECT)
    return _form(view, "correct.html")


def correct(view: View) -> Response:
    """Send what was changed; back to the episode page, or the form with the problem by its field."""
    episode_id, seq = _ids(view)
    _episode, _recorded, now, fields = _event(view, episode_id, seq)
    changed = {f["name"]: view.form.get(f["name"], "").strip() for f in fields
               if view.form.get(f["name"], "").strip() != _text(now["fields"].get(f["name"]))
               and view.form.get(f["name"], "").strip()}  # fmt: skip
    assignments = [f"{k}={v}" for k, v in changed.items()]
    day = view.form.get("occurred_on", "").strip()
    occurred_on = day if day and day != now["occurred_on"] and now["trigger"] != OPEN else None
    return _change(view, CORRECT, assignments=assignments, occurred_on=occurred_on,
                   names=[*changed, "occurred_on", "reason"], template="correct.html")  # fmt: skip


def void_form(view: View) -> Response:
    """Confirm that an event was entered in error, with a reason."""
    _may(view, VOID)
    return _form(view, "void.html")


def void(view: View) -> Response:
    return _change(view, VOID, names=["reason"], template="void.html")


def _change(view: View, change: str, *, names: list[str], template: str, assignments: list[str] | None = None,
            occurred_on: str | None = None) -> Response:  # fmt: skip
    episode_id, seq = _ids(view)
    reason = view.form.get("reason", "").strip()
    override = view.form.get("override_reason", "").strip() or None
    if not reason:
        return _form(view, template, status=400, problem={"fields": {"reason": "Say why; the reason is kept on the "
                                                                   "record."}, "form": []})  # fmt: skip
    try:
        with view.uow(write=True) as uow:
            actions = service.rights(uow, episode_id=episode_id, seq=seq, change=change, assignments=assignments or (),
                                     override=override is not None)  # fmt: skip
            actor = view.authorize(uow, *actions, episode_id=episode_id)
            expect = view.form.get("expect_version", "")
            version = int(expect) if expect.isdigit() else None
            if change == CORRECT:
                service.correct(uow, episode_id=episode_id, seq=seq, assignments=assignments or [],
                                occurred_on=occurred_on, reason=reason, override_reason=override, actor=actor,
                                now=view.now, expect_version=version)  # fmt: skip
            else:
                service.void(uow, episode_id=episode_id, seq=seq, reason=reason, override_reason=override,
                             actor=actor, now=view.now, expect_version=version)  # fmt: skip
    except (Refused, InvalidInput, Conflict) as exc:
        by_field, other = field_errors(exc.message, names)
        problem = {"fields": by_field, "form": other, "reasons": exc.details if isinstance(exc, Refused) else [],
                   "overridable": isinstance(exc, Refused) and exc.overridable}  # fmt: skip
        return _form(view, template, status=FORM_STATUS.get(exc.exit_code, 400), problem=problem)
    done = "correct" if change == CORRECT else "void"
    return view.redirect(f"/episodes/{episode_id}?done={done}#timeline")
