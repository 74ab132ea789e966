"""Rule sets: list, show, diff, export, and the administrators' new, activate and migrate."""

from __future__ import annotations

from typing import Any

from pathway.errors import InvalidInput
from pathway.services import rule_migration
from pathway.services import rule_sets as lifecycle
from pathway.services import rules as service
from pathway.web.call import Call
from pathway.web.routes import ApiRoute
from pathway.web.routes.convert import text


def list_(call: Call) -> list[dict[str, Any]]:
    with call.uow() as uow:
        call.authorize(uow, "rules.list")
        return lifecycle.list_rule_sets(uow)


def show(call: Call) -> dict[str, Any]:
    version = call.path_id("version")
    with call.uow() as uow:
        call.authorize(uow, "rules.show")
        return service.show_rules(uow, version)


def diff(call: Call) -> dict[str, Any]:
    old, new = call.path_id("version"), call.path_id("other")
    with call.uow() as uow:
        call.authorize(uow, "rules.diff")
        return lifecycle.diff_rule_sets(uow, old, new)


def export(call: Call) -> dict[str, Any]:
    version = call.path_id("version")
    with call.uow() as uow:
        call.authorize(uow, "rules.export")
        return {"version": version, "toml": lifecycle.export_rule_set(uow, version)}


def new(call: Call) -> dict[str, Any]:
    data = call.json()
    with call.uow(write=True) as uow:
        actor = call.authorize(uow, "rules.new")
        toml = text(data.get("toml"), "toml")
        if toml is None:
            raise InvalidInput('Send the rule file as {"toml": "...", "note": "..."}.')
        return lifecycle.create_rule_set(uow, text=toml, source=text(data.get("source"), "source") or "request",
                                         note=text(data.get("note"), "note"), actor=actor, now=call.now)  # fmt: skip


def activate(call: Call) -> dict[str, Any]:
    version = call.path_id("version")
    with call.uow(write=True) as uow:
        actor = call.authorize(uow, "rules.activate")
        return lifecycle.activate_rule_set(uow, version=version, actor=actor, now=call.now)


def _whole(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**31 - 1:
        raise InvalidInput(f"{name} must be a whole number.")
    return value


def migrate(call: Call) -> dict[str, Any]:
    data = call.json()
    dry_run = data.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise InvalidInput("dry_run must be true or false.")
    episode_id = _whole(data.get("episode_id"), "episode_id")
    with call.uow(write=not dry_run) as uow:
        actor = call.authorize(uow, "rules.preview" if dry_run else "rules.migrate", episode_id=episode_id)
        to_version = _whole(data.get("to_version"), "to_version")
        if to_version is None:
            raise InvalidInput("to_version is required: the rule set to move episodes to.")
        return rule_migration.migrate_rules(uow, to_version=to_version, episode_id=episode_id,
                                            all_on=_whole(data.get("all_on"), "all_on"), dry_run=dry_run,
                                            actor=actor, now=call.now)  # fmt: skip


ROUTES = [
    ApiRoute("GET", "/api/rules", list_, "Every rule set, with its status."),
    ApiRoute("POST", "/api/rules", new, "A new draft rule set from TOML text (admins).", status=201,
             body=("toml", "note", "source")),
    ApiRoute("POST", "/api/rules/migrate", migrate, "Move episodes to another rule set (admins; dry_run for all).",
             body=("to_version", "episode_id", "all_on", "dry_run")),
    ApiRoute("GET", "/api/rules/{version}", show, "One rule set's rules."),
    ApiRoute("GET", "/api/rules/{version}/diff/{other}", diff, "What changes from one rule set to another."),
    ApiRoute("GET", "/api/rules/{version}/export", export, "A rule set as a TOML file's text."),
    ApiRoute("POST", "/api/rules/{version}/activate", activate, "Make a rule set the active one (admins)."),
]  # fmt: skip
