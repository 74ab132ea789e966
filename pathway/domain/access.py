"""Who may do what: the permission matrix, as data.

Every command names one *action* (``episode.show``, ``advance.inject``, ``override``…);
a user may take it when one of their roles grants it. The matrix is pure data so that it
can be read, documented and tested without a database; `pathway.services.access`
applies it. Reading is open to every known user; each clinical trigger is an action of
its own, so a refusal can say exactly which right was missing.
"""

from __future__ import annotations

from collections.abc import Iterable

ROLES: tuple[str, ...] = ("coordinator", "clinician", "reviewer", "service", "admin")

# When a user holds several roles that grant an action, the event records the first of
# these that grants everything the command needs: the least privileged role that suffices.
ROLE_ORDER: tuple[str, ...] = ("reviewer", "service", "coordinator", "clinician", "admin")

# Open to every known user, whatever their role.
READ_ACTIONS: frozenset[str] = frozenset(
    {
        "episode.show",
        "episode.list",
        "episode.history",
        "next",
        "worklist",
        "diagram",
        "rules.show",
        "rules.list",
        "rules.diff",
        "rules.preview",
        "rules.export",
        "audit.verify",
        "db.info",
    }
)

# The clinical triggers of PATHWAY.md, as `advance.<trigger>` actions.
COORDINATOR_TRIGGERS: frozenset[str] = frozenset(
    {
        "order_radiographs",
        "record_radiographs",
        "order_mri",
        "record_mri",
        "start_conservative",
        "inject",
        "record_injection_response",
        "record_followup",
        "reassess",
        "return_to_conservative",
        "schedule_surgery",
        "discharge",
        "close",
        "amend",
    }
)
CLINICIAN_ONLY_TRIGGERS: frozenset[str] = frozenset({"confirm_diagnosis", "refer_to_surgery", "record_surgery"})

ADVANCE_ANY = "advance"  # some clinical step (used when the trigger name itself is unknown)
OVERRIDE = "override"
CORRECT = "correct"  # supersede fields or the date of an earlier event
VOID = "void"  # mark an earlier event entered in error
AMEND_PATIENT = "amend.patient_ref"  # move an episode to another patient: a step taken on the wrong patient


def advance_action(trigger: str) -> str:
    return f"advance.{trigger}"


def record_actions(trigger: str, field_names: Iterable[str] = (), overridden: bool = False) -> tuple[str, ...]:
    """What recording this step needs: its trigger's right (or, for a change of patient, that right), and
    the override right when guards were overridden."""
    names = set(field_names)
    if trigger == "amend" and "patient_ref" in names:
        actions: tuple[str, ...] = (AMEND_PATIENT,) if names <= {"patient_ref", "reason"} else (
            advance_action(trigger), AMEND_PATIENT)  # fmt: skip
    else:
        actions = (advance_action(trigger),)
    return (*actions, OVERRIDE) if overridden else actions


def change_actions(change: str, target: tuple[str, ...]) -> tuple[str, ...]:
    """What correcting or voiding an event needs: the change's own right and every right its record needed.

    So coordinators correct and void what coordinators may record, and a clinician's
    step (or one recorded with an override) needs a clinician.
    """
    return (change, *(a for a in target if a != change))


IMPORT = "import"  # importing a file; each of its triggers (and any override) needs its own right too

_COORDINATOR = frozenset(
    {"episode.open", IMPORT, ADVANCE_ANY, CORRECT, VOID, "audit.export", "report.quality",
     *map(advance_action, COORDINATOR_TRIGGERS)}
)  # fmt: skip
_CLINICIAN = _COORDINATOR | {
    OVERRIDE,
    AMEND_PATIENT,
    "audit.export.identified",
    *map(advance_action, CLINICIAN_ONLY_TRIGGERS),
}

MATRIX: dict[str, frozenset[str]] = {
    "coordinator": READ_ACTIONS | _COORDINATOR,
    "clinician": READ_ACTIONS | _CLINICIAN,
    "reviewer": READ_ACTIONS | {"audit.export", "report.quality", "audit.access"},
    "service": READ_ACTIONS | {"jobs.flag-overdue", "jobs.notify", "db.backup", "audit.checkpoint"},
    "admin": READ_ACTIONS
    | {
        "user.add",
        "user.list",
        "user.disable",
        "user.enable",
        "user.revoke",
        "user.set",  # another user's digest address and frequency; everyone may set their own
        "user.password",  # another user's password; everyone may set their own
        "user.token",  # another user's API tokens; everyone may manage their own
        "rules.new",
        "rules.activate",
        "rules.migrate",
        "db.backup",
        "audit.checkpoint",
        "audit.access",
        AMEND_PATIENT,
    },
}

ACTIONS: frozenset[str] = frozenset().union(*MATRIX.values())

# Roles that read the pathway, not the person: they see pseudonyms, never patient references.
PSEUDONYMOUS_ROLES: frozenset[str] = frozenset({"reviewer", "service"})


def granting_roles(action: str) -> tuple[str, ...]:
    """The roles that grant ``action``, least privileged first."""
    return tuple(role for role in ROLE_ORDER if action in MATRIX[role])


def acting_role(held: Iterable[str], needed: Iterable[str]) -> str | None:
    """The role a user acts in for ``needed`` actions, or None when they may not.

    The user may act when every needed action is granted by one of their roles; the
    role recorded is the least privileged held role that grants them all (or, failing
    a single such role, the one granting the first needed action).
    """
    held = [role for role in ROLE_ORDER if role in set(held)]
    needed = list(needed)
    if not all(any(action in MATRIX[role] for role in held) for action in needed):
        return None
    for role in held:
        if all(action in MATRIX[role] for action in needed):
            return role
    return next(role for role in held if needed[0] in MATRIX[role])


def describe(action: str) -> str:
    """How a refusal names an action for the user."""
    if action == OVERRIDE:
        return "override a pathway rule"
    if action == ADVANCE_ANY:
        return "take clinical steps"
    if action == CORRECT:
        return "correct recorded events"
    if action == VOID:
        return "mark recorded events entered in error"
    if action == AMEND_PATIENT:
        return "move an episode to another patient reference"
    if action.startswith("advance."):
        return f"fire {action.removeprefix('advance.')}"
    return f"run `pathway {action.replace('.', ' ')}`"
