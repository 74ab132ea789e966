"""The states of an episode, in pathway order (PATHWAY.md, "States")."""

from __future__ import annotations

STATES: tuple[str, ...] = (
    "referred",
    "radiographs_ordered",
    "radiographs_reported",
    "mri_ordered",
    "mri_reported",
    "diagnosed",
    "conservative_care",
    "injection_done",
    "surgical_referral",
    "surgery_scheduled",
    "post_operative",
    "discharged",
    "closed",
)

TERMINAL: frozenset[str] = frozenset({"discharged", "closed"})
NON_TERMINAL: tuple[str, ...] = tuple(s for s in STATES if s not in TERMINAL)
INITIAL = "referred"
SIDES: tuple[str, ...] = ("left", "right")
