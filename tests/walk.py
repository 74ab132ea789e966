"""Walking an episode through the CLI to the source state of any trigger, every guard passing.

Dates end on 2026-06-01, so tests frozen later than that can fire each trigger "today".
"""

from __future__ import annotations

from tests.conftest import Pathway

WALK = [
    ("order_radiographs", "2026-01-06", []),
    ("record_radiographs", "2026-01-08", ["result=negative"]),
    ("order_mri", "2026-01-09", []),
    ("record_mri", "2026-01-20", ["ifs_mm=11", "qfs_mm=9", "qf_edema=yes", "qf_fatty_replacement=no"]),
    ("confirm_diagnosis", "2026-01-25", []),
    ("start_conservative", "2026-02-01", ["pain=7"]),
    ("inject", "2026-02-10", ["guidance=ultrasound", "agent=corticosteroid_anaesthetic"]),
    ("record_injection_response", "2026-02-20", ["pain_before=8", "pain_after=2", "relief=temporary"]),
    ("reassess", "2026-05-10", ["outcome=persistent", "pain=6"]),
    ("refer_to_surgery", "2026-05-15", []),
    ("schedule_surgery", "2026-05-20", ["approach=endoscopic", "planned_on=2026-06-01"]),
    ("record_surgery", "2026-06-01", ["approach=endoscopic", "sciatic_neurolysis=false"]),
]
# How many WALK steps bring an episode to a state from which the trigger is possible.
STEPS_BEFORE = {
    "order_radiographs": 0, "record_radiographs": 1, "order_mri": 2, "record_mri": 3, "confirm_diagnosis": 4,
    "start_conservative": 5, "record_injection_response": 7, "inject": 9, "record_followup": 9, "reassess": 9,
    "refer_to_surgery": 9, "discharge": 9, "return_to_conservative": 10, "schedule_surgery": 10,
    "record_surgery": 11, "close": 0, "amend": 0,
}  # fmt: skip


def sets(items: list[str]) -> list[str]:
    return [word for item in items for word in ("--set", item)]


def episode_before(pathway: Pathway, trigger: str, patient: str, *, user: str | None = None) -> int:
    """A new episode for ``patient`` in a state where ``trigger`` is possible."""
    acting = ["--as", user] if user else []
    eid = pathway.json(*acting, "episode", "open", "--patient", patient, "--side", "left",
                       "--referred-on", "2026-01-05")["id"]  # fmt: skip
    for step, on, items in WALK[: STEPS_BEFORE[trigger]]:
        pathway.ok(*acting, "advance", str(eid), step, "--on", on, *sets(items))
    return eid
