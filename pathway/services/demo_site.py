"""A throwaway clinic for `pathway serve --demo`: one user per role and a few dozen synthetic patients.

Every episode is driven through the real services (guards, events, flags), so the demo
shows what a clinic would see: patients in every state, some of them overdue.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from pathway.clock import site_timezone
from pathway.db.uow import UnitOfWork
from pathway.domain.access import advance_action
from pathway.errors import PathwayError
from pathway.services import Actor, access, overdue, passwords, users
from pathway.services.advance import advance
from pathway.services.episodes import open_episode

USERS = {"coordinator": "kim", "clinician": "cleo", "reviewer": "rey", "service": "cron", "admin": "amira"}

# (trigger, days after referral, fields): the usual road through the pathway.
ROAD: list[tuple[str, int, dict[str, str]]] = [
    ("order_radiographs", 1, {}),
    ("record_radiographs", 4, {"result": "negative"}),
    ("order_mri", 5, {}),
    ("record_mri", 16, {"ifs_mm": "11", "qfs_mm": "7", "qf_edema": "yes", "qf_fatty_replacement": "no"}),
    ("confirm_diagnosis", 20, {}),
    ("start_conservative", 27, {"pain": "7", "mhhs": "55"}),
    ("inject", 36, {"guidance": "ultrasound", "agent": "corticosteroid_anaesthetic"}),
    ("record_injection_response", 46, {"pain_before": "8", "pain_after": "2", "relief": "temporary"}),
    ("reassess", 125, {"outcome": "persistent", "pain": "6", "mhhs": "58"}),
    ("refer_to_surgery", 130, {}),
    ("schedule_surgery", 135, {"approach": "endoscopic", "planned_on": "+147"}),
    ("record_surgery", 147, {"approach": "endoscopic", "sciatic_neurolysis": "false"}),
    ("record_followup", 190, {"pain": "3", "mhhs": "74"}),
]
RESOLVED = ("reassess", 125, {"outcome": "resolved", "pain": "1", "mhhs": "88"})
CLOSED = ("close", 18, {"reason": "alternative_diagnosis", "diagnosis": "greater_trochanteric_bursitis"})


@dataclass(frozen=True)
class DemoSite:
    password: str
    episodes: int


def _steps(n: int) -> list[tuple[str, int, dict[str, str]]]:
    """Patient ``n``'s road: how far along it they are, and a few that end otherwise."""
    if n % 17 == 16:
        return [*ROAD[:8], RESOLVED]  # discharged at reassessment
    if n % 17 == 15:
        return [*ROAD[:4], CLOSED]  # the MRI pointed elsewhere
    return ROAD[: n % (len(ROAD) + 1)]


def _drive(engine: sa.Engine, episode_id: int, steps: list[tuple[str, int, dict[str, str]]], referred: datetime,
           actor: Actor, now: datetime) -> None:  # fmt: skip
    """Each step in its own transaction; a guard the synthetic road does not meet leaves the patient there."""
    for trigger, after, fields in steps:
        day = referred.date() + timedelta(days=after)
        values = {k: (day + timedelta(days=int(v[1:]) - after)).isoformat() if v.startswith("+") else v
                  for k, v in fields.items()}  # fmt: skip
        try:
            with UnitOfWork(engine, write=True) as uow:
                acting = access.authorize(uow, actor, advance_action(trigger), episode_id=episode_id, now=now)
                advance(uow, episode_id=episode_id, trigger=trigger, assignments=values,
                        occurred_on=day.isoformat(), override_reason=None, actor=acting, now=now)  # fmt: skip
        except PathwayError:
            return


def populate(engine: sa.Engine, *, now: datetime, patients: int = 40, with_users: bool = True) -> DemoSite:
    """Users for every role (one shared, random password) and ``patients`` synthetic episodes.

    ``with_users=False`` leaves the users to the caller (who has made them already).
    """
    password = "demo-" + secrets.token_urlsafe(9)
    if with_users:
        _users(engine, password, now)
    clinician = Actor(USERS["clinician"])
    today = now.astimezone(site_timezone())
    for n in range(patients):
        steps = _steps(n)
        lag = (n * 11) % 75  # days since the latest step: some patients are overdue, some are not
        referred = today - timedelta(days=lag + (steps[-1][1] if steps else 0))
        with UnitOfWork(engine, write=True) as uow:
            acting = access.authorize(uow, clinician, "episode.open", now=now)
            eid = open_episode(uow, patient_ref=f"DEMO-{n + 1:04d}", side=("left", "right")[n % 2],
                               referred_on=referred.date(), has_hip_arthroplasty=False, actor=acting, now=now)  # fmt: skip
        _drive(engine, eid, steps, referred, clinician, now)
    overdue.flag_overdue(engine, now=now)
    return DemoSite(password, patients)


def _users(engine: sa.Engine, password: str, now: datetime) -> None:
    with UnitOfWork(engine, write=True) as uow:
        admin = Actor(USERS["admin"])
        users.ensure_admin(uow, name=admin.name, actor=admin, now=now)
        admin = Actor(admin.name, "admin")
        for role, name in USERS.items():
            if role != "admin":
                users.add_user(uow, name=name, role=role, actor=admin, now=now)
            passwords.set_password(uow, name=name, password=password, actor=admin, now=now)
