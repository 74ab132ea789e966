"""The permission matrix against the rights written out by hand from the specification."""

from __future__ import annotations

import pytest

from pathway.domain.access import ACTIONS, MATRIX, ROLES, acting_role, advance_action
from pathway.domain.triggers import TRIGGERS

COORDINATOR_STEPS = [
    "order_radiographs", "record_radiographs", "order_mri", "record_mri", "start_conservative", "inject",
    "record_injection_response", "record_followup", "reassess", "return_to_conservative", "schedule_surgery",
    "discharge", "close", "amend",
]  # fmt: skip
CLINICIAN_ONLY = ["confirm_diagnosis", "refer_to_surgery", "record_surgery"]
READING = ["episode.show", "episode.list", "episode.history", "next", "worklist", "diagram", "rules.show"]

# action -> roles that may take it (reading aside), as the access-control requirements state it.
EXPECTED: dict[str, set[str]] = {
    "episode.open": {"coordinator", "clinician"},
    "import": {"coordinator", "clinician"},
    "override": {"clinician"},
    "jobs.flag-overdue": {"service"},
    "jobs.notify": {"service"},
    "audit.export": {"reviewer", "coordinator", "clinician"},
    "audit.export.identified": {"clinician"},
    "report.quality": {"reviewer", "coordinator", "clinician"},
    "rules.new": {"admin"},
    "rules.activate": {"admin"},
    "rules.migrate": {"admin"},
    "user.add": {"admin"},
    "user.list": {"admin"},
    "user.disable": {"admin"},
    "user.enable": {"admin"},
    "user.password": {"admin"},  # another user's; everyone may set their own
    "user.token": {"admin"},  # another user's; everyone may manage their own
    "db.backup": {"admin", "service"},
    "audit.checkpoint": {"admin", "service"},
    "audit.access": {"admin", "reviewer"},
    "user.revoke": {"admin"},
    "user.set": {"admin"},
    "correct": {"coordinator", "clinician"},
    "void": {"coordinator", "clinician"},
    "amend.patient_ref": {"clinician", "admin"},
    **{advance_action(t): {"coordinator", "clinician"} for t in COORDINATOR_STEPS},
    **{advance_action(t): {"clinician"} for t in CLINICIAN_ONLY},
}


def test_every_trigger_is_classified() -> None:
    assert set(COORDINATOR_STEPS) | set(CLINICIAN_ONLY) == set(TRIGGERS)


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_who_may_take_each_action(action: str) -> None:
    assert {role for role in ROLES if action in MATRIX[role]} == EXPECTED[action]


@pytest.mark.parametrize("action", READING)
def test_reading_is_open_to_every_role(action: str) -> None:
    assert all(action in MATRIX[role] for role in ROLES)


def test_reviewers_and_services_and_admins_take_no_clinical_step() -> None:
    for role in ("reviewer", "service", "admin"):
        assert not [a for a in MATRIX[role] if a.startswith("advance") or a in ("episode.open", "override")]
    assert "audit.export.identified" not in MATRIX["reviewer"]


def test_every_action_is_expected_or_reading() -> None:
    others = {"rules.diff", "rules.export", "rules.list", "rules.preview", "audit.verify", "db.info", "advance"}
    assert ACTIONS - set(EXPECTED) - set(READING) <= others


def test_the_role_recorded_is_the_least_privileged_that_suffices() -> None:
    both = ["clinician", "coordinator"]
    assert acting_role(both, [advance_action("inject")]) == "coordinator"
    assert acting_role(both, [advance_action("refer_to_surgery")]) == "clinician"
    assert acting_role(both, [advance_action("inject"), "override"]) == "clinician"
    assert acting_role(["coordinator"], [advance_action("inject"), "override"]) is None
    assert acting_role(["admin", "clinician"], [advance_action("close")]) == "clinician"
    assert acting_role(["admin"], [advance_action("close")]) is None
    assert acting_role([], ["episode.show"]) is None
