"""Rule-set pages: the versions, one version's values grouped by what they govern, a diff, activation.

Reading is open to every signed-in user (as ``pathway rules list|show|diff``);
activating is the administrators' (``pathway rules activate``), behind a confirmation
box because new episodes follow the active set from that moment.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from pathway.domain.rule_checks import RuleEntry
from pathway.domain.rule_diff import shown
from pathway.domain.rules import CATALOGUE, RuleSpec
from pathway.errors import AccessDenied, InvalidInput, NotFound, PathwayError
from pathway.services import rule_sets as lifecycle
from pathway.services import rules as service
from pathway.web.errors import STATUS
from pathway.web.pages.view import View
from pathway.web.routes.convert import MAX

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Conservative care and reassessment",
     ("conservative_min_days", "reassessment_window_open_days", "reassessment_window_close_days")),
    ("MRI", ("mri_ifs_max_mm", "mri_qfs_max_mm")),
    ("Injections", ("diagnostic_relief_min_pct", "injection_guidance_allowed", "injection_min_interval_days",
                    "injection_max_per_365_days")),
    ("Surgical referral", ("surgery_requires_injection", "surgery_requires_positive_diagnostic_injection")),
    ("When a flag becomes overdue", ("radiograph_report_overdue_days", "mri_report_overdue_days",
                                     "injection_response_overdue_days", "workup_decision_overdue_days",
                                     "surgery_scheduling_overdue_days")),
    ("Post-operative follow-up", ("postop_followup_days", "followup_grace_days")),
)  # fmt: skip
OTHER = "Other rules"


def allowed(spec: RuleSpec | None) -> str:
    """What values the catalogue accepts for a rule, as a person reads it."""
    if spec is None:
        return ""
    if spec.choices:
        return "any of: " + ", ".join(spec.choices)
    if spec.type == "bool":
        return "true or false"
    if spec.lo is None or spec.hi is None:
        return ""
    unit = f" {spec.unit}" if spec.unit and spec.unit != "injections" else ""
    each = "each " if spec.type == "int_list" else ""
    return f"{each}{spec.lo:g} to {spec.hi:g}{unit}"


def _entry(rule: dict[str, Any]) -> RuleEntry:
    return RuleEntry(rule["key"], rule["value"], rule["unit"], rule["basis"])


def grouped(rules: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The rules in the groups of GROUPS (catalogue order within each), unknown keys last."""
    by_key = {r["key"]: r for r in rules}
    placed = {key for _, keys in GROUPS for key in keys}
    groups = [(title, [by_key[k] for k in keys if k in by_key]) for title, keys in GROUPS]
    groups.append((OTHER, [r for r in rules if r["key"] not in placed]))
    return [(title, [_described(r) for r in items]) for title, items in groups if items]


def _described(rule: dict[str, Any]) -> dict[str, Any]:
    spec = CATALOGUE.get(rule["key"])
    return {**rule, "shown": shown(_entry(rule)), "meaning": spec.summary if spec else "", "allowed": allowed(spec)}


def _changes(diff: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for c in diff["changes"]:
        old, new = (RuleEntry(c["key"], **side) if side else None for side in (c["old"], c["new"]))
        spec, latest = CATALOGUE.get(c["key"]), new or old
        rows.append({"key": c["key"], "meaning": spec.summary if spec else "", "old": shown(old), "new": shown(new),
                     "change": c["change"] if c["value_changed"] or c["change"] != "changed" else "basis only",
                     "basis": latest.basis if c["basis_changed"] and latest is not None else ""})  # fmt: skip
    return rows


def _list(view: View, *, errors: dict[str, str] | None = None, status: int = 200, chosen: dict[str, str] | None = None
          ) -> Response:  # fmt: skip
    with view.uow() as uow:
        view.authorize(uow, "rules.list")
        sets = lifecycle.list_rule_sets(uow)
    versions = [s["version"] for s in sets]
    active = next((s["version"] for s in sets if s["status"] == "active"), None)
    latest = versions[-1] if versions else None
    earlier = versions[-2] if len(versions) > 1 else latest
    default_from = active if active is not None and active != latest else earlier
    chosen = chosen or {"from": str(default_from or ""), "to": str(latest or "")}
    return view.page("rules.html", sets=sets, versions=[str(v) for v in versions], chosen=chosen,
                     errors=errors or {}, nav="rules", status=status)  # fmt: skip


def list_(view: View) -> Response:
    """Every rule-set version with its status and who activated it when; a form to compare two."""
    return _list(view)


def _version(text: str | None, label: str) -> int:
    if text is None:
        raise InvalidInput(f"Choose the {label} rule set.")
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX):
        raise InvalidInput(f"The {label} rule set is a version number, such as 1.")
    return int(text)


def diff(view: View) -> Response:
    """What changes from one version to another, rule by rule; a bad choice is refused next to its select."""
    chosen = {"from": view.query("from") or "", "to": view.query("to") or ""}
    errors: dict[str, str] = {}
    versions: dict[str, int] = {}
    for name, label in (("from", "first"), ("to", "second")):
        try:
            versions[name] = _version(view.query(name), label)
        except InvalidInput as exc:
            errors[name] = exc.message
    if errors:
        return _list(view, errors=errors, status=400, chosen=chosen)
    with view.uow() as uow:
        view.authorize(uow, "rules.diff")
        known = {s["version"] for s in lifecycle.list_rule_sets(uow)}
        for name, version in versions.items():
            if version not in known:
                errors[name] = f"There is no rule set version {version}; choose one of the list."
        data = lifecycle.diff_rule_sets(uow, versions["from"], versions["to"]) if not errors else {}
    if errors:
        return _list(view, errors=errors, status=404, chosen=chosen)
    return view.page("rules_diff.html", old=versions["from"], new=versions["to"], changes=_changes(data),
                     nav="rules")  # fmt: skip


def _show(view: View, version: int, *, problem: str | None = None, confirm_error: str | None = None,
          status: int = 200) -> Response:  # fmt: skip
    with view.uow() as uow:
        view.authorize(uow, "rules.show")
        data = service.show_rules(uow, version)
        active = next((s["version"] for s in lifecycle.list_rule_sets(uow) if s["status"] == "active"), None)
        from_active = (lifecycle.diff_rule_sets(uow, active, version)
                       if data["status"] == "draft" and active is not None else None)  # fmt: skip
    return view.page("rules_show.html", rs=data, groups=grouped(data["rules"]), active=active, problem=problem,
                     confirm_error=confirm_error, activated=view.query("activated") == "1",
                     from_active=_changes(from_active) if from_active else None, nav="rules",
                     status=status)  # fmt: skip


def show(view: View) -> Response:
    """One version's rules, grouped, each with its meaning, allowed values and basis."""
    return _show(view, view.path_id())


class _Unconfirmed(Exception):
    """The confirmation box was not ticked (raised inside the unit of work: nothing is written)."""


def activate(view: View) -> Response:
    """Make a draft the active set (admins), once the confirmation box is ticked; refusals shown on its page."""
    version = view.path_id()
    try:
        with view.uow(write=True) as uow:
            actor = view.authorize(uow, "rules.activate")
            if view.form.get("confirm") != "yes":
                raise _Unconfirmed
            lifecycle.activate_rule_set(uow, version=version, actor=actor, now=view.now)
    except _Unconfirmed:
        return _show(
            view, version, status=400, confirm_error="Tick the box to confirm: new episodes will follow this rule set."
        )
    except (AccessDenied, NotFound):
        raise
    except PathwayError as exc:
        return _show(view, version, problem=exc.message, status=STATUS.get(exc.exit_code, 400))
    return view.redirect(f"/rules/{version}?activated=1")
