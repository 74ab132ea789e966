"""Correcting and voiding recorded events: the bodies of `pathway correct` and `pathway void` --json."""

from __future__ import annotations

from typing import Any

from pathway.domain.history import CORRECT, VOID
from pathway.errors import InvalidInput
from pathway.services import corrections as service
from pathway.web.call import Call
from pathway.web.routes import ApiRoute
from pathway.web.routes.convert import cli_text, text


def _version(data: dict[str, Any]) -> int | None:
    expect = data.get("expect_version")
    if expect is not None and (isinstance(expect, bool) or not isinstance(expect, int) or expect < 0):
        raise InvalidInput("expect_version must be a whole number.")
    return expect


def correct(call: Call) -> dict[str, Any]:
    episode_id, seq = call.path_id(), call.path_id("seq")
    data = call.json()
    fields = data.get("fields") or {}
    if not isinstance(fields, dict):
        raise InvalidInput('fields must be a JSON object: {"FIELD": value, ...}.')
    assignments = [f"{k}={cli_text(v, str(k))}" for k, v in fields.items() if v is not None]
    reason, override = text(data.get("reason"), "reason"), text(data.get("override_reason"), "override_reason")
    with call.uow(write=True) as uow:
        actions = service.rights(uow, episode_id=episode_id, seq=seq, change=CORRECT, assignments=assignments,
                                 override=override is not None)  # fmt: skip
        actor = call.authorize(uow, *actions, episode_id=episode_id)
        return service.correct(
            uow, episode_id=episode_id, seq=seq, assignments=assignments, occurred_on=text(data.get("occurred_on"),
            "occurred_on"), reason=reason, override_reason=override, actor=actor, now=call.now,
            expect_version=_version(data),
        )  # fmt: skip


def void(call: Call) -> dict[str, Any]:
    episode_id, seq = call.path_id(), call.path_id("seq")
    data = call.json()
    reason, override = text(data.get("reason"), "reason"), text(data.get("override_reason"), "override_reason")
    with call.uow(write=True) as uow:
        actions = service.rights(uow, episode_id=episode_id, seq=seq, change=VOID, override=override is not None)
        actor = call.authorize(uow, *actions, episode_id=episode_id)
        return service.void(uow, episode_id=episode_id, seq=seq, reason=reason, override_reason=override,
                            actor=actor, now=call.now, expect_version=_version(data))  # fmt: skip


ROUTES = [
    ApiRoute("POST", "/api/episodes/{id}/events/{seq}/correct", correct,
             "Correct fields and/or the date of an event with a new, audited event.",
             body=("fields", "occurred_on", "reason", "override_reason", "expect_version")),
    ApiRoute("POST", "/api/episodes/{id}/events/{seq}/void", void, "Mark an event entered in error.",
             body=("reason", "override_reason", "expect_version")),
]  # fmt: skip
