"""Episodes: list, open, show, history, next, advance (bodies as the CLI's --json)."""

from __future__ import annotations

from typing import Any

from pathway.domain.states import SIDES
from pathway.errors import InvalidInput
from pathway.services import advance as stepping
from pathway.services import episodes, identity
from pathway.services.access import advance_actions
from pathway.web.call import Call
from pathway.web.routes import ApiRoute
from pathway.web.routes.convert import cli_text, day, flag, text, whole


def list_episodes(call: Call) -> list[dict[str, Any]]:
    with call.uow() as uow:
        actor = call.authorize(uow, "episode.list", looks_up=call.query("patient") is not None)
        return identity.shown_to(actor, list(episodes.list_episodes(
            uow, state=call.query("state"), patient_ref=call.query("patient"), limit=whole(call.query("limit"), "limit"))))


def open_episode(call: Call) -> dict[str, Any]:
    data = call.json()
    with call.uow(write=True) as uow:
        actor = call.authorize(uow, "episode.open")
        side, arthroplasty = data.get("side"), data.get("has_hip_arthroplasty", False)
        ref = data.get("patient_ref")
        if not isinstance(ref, str):
            raise InvalidInput("patient_ref is required: the site's patient identifier, as text.")
        if side not in SIDES:
            raise InvalidInput(f"side must be one of {', '.join(SIDES)}.")
        if not isinstance(arthroplasty, bool):
            raise InvalidInput("has_hip_arthroplasty must be true or false.")
        new_id = episodes.open_episode(
            uow, patient_ref=ref, side=side, referred_on=day(data.get("referred_on"), "referred_on"),
            has_hip_arthroplasty=arthroplasty, actor=actor, now=call.now,
        )  # fmt: skip
    return {"id": new_id}


def show(call: Call) -> dict[str, Any]:
    episode_id = call.path_id()
    with call.uow() as uow:
        actor = call.authorize(uow, "episode.show", episode_id=episode_id)
        return identity.shown_to(actor, episodes.show_episode(uow, episode_id))


def history(call: Call) -> list[dict[str, Any]]:
    episode_id = call.path_id()
    with call.uow() as uow:
        actor = call.authorize(uow, "episode.history", episode_id=episode_id)
        return identity.shown_to(actor, episodes.episode_history(uow, episode_id,
                                                                 effective=flag(call.query("effective"), "effective")))


def next_steps(call: Call) -> dict[str, Any]:
    episode_id = call.path_id()
    with call.uow() as uow:
        call.authorize(uow, "next", episode_id=episode_id)
        return stepping.next_steps(uow, episode_id=episode_id, now=call.now)


def advance(call: Call) -> dict[str, Any]:
    episode_id = call.path_id()
    data = call.json()
    trigger, fields = data.get("trigger"), data.get("fields") or {}
    if not isinstance(trigger, str) or not trigger:
        raise InvalidInput("trigger is required: the name of the step, e.g. order_radiographs.")
    if not isinstance(fields, dict):
        raise InvalidInput('fields must be a JSON object: {"FIELD": value, ...}.')
    reason = text(data.get("override_reason"), "override_reason")
    expect = data.get("expect_version")
    if expect is not None and (isinstance(expect, bool) or not isinstance(expect, int) or expect < 0):
        raise InvalidInput("expect_version must be a whole number.")
    assignments = {str(k): cli_text(v, str(k)) for k, v in fields.items() if v is not None}
    with call.uow(write=True) as uow:
        actions = advance_actions(trigger, reason is not None, [f"{k}=" for k in assignments])
        actor = call.authorize(uow, *actions, episode_id=episode_id)
        return stepping.advance(
            uow, episode_id=episode_id, trigger=trigger, assignments=assignments,
            occurred_on=text(data.get("occurred_on"), "occurred_on"), override_reason=reason, actor=actor,
            now=call.now, expect_version=expect,
        )  # fmt: skip


ROUTES = [
    ApiRoute("GET", "/api/episodes", list_episodes, "List episodes, oldest first.",
             query=("state", "patient", "limit")),
    ApiRoute("POST", "/api/episodes", open_episode, "Open an episode; 201 with its id.", status=201,
             body=("patient_ref", "side", "referred_on", "has_hip_arthroplasty")),
    ApiRoute("GET", "/api/episodes/{id}", show, "One episode."),
    ApiRoute("GET", "/api/episodes/{id}/history", history, "Every event of an episode.", query=("effective",)),
    ApiRoute("GET", "/api/episodes/{id}/next", next_steps, "What may be done next, and why not the rest."),
    ApiRoute("POST", "/api/episodes/{id}/advance", advance, "Fire a trigger, checked against the pinned rules.",
             body=("trigger", "occurred_on", "fields", "override_reason", "expect_version")),
]  # fmt: skip
