"""A synthetic, realistic audit trail for benchmarks: episodes walked through the pathway.

Every step goes through the real decision logic (`decide`, with an override when a guard
refuses), so fields, guard verdicts and hashes look exactly like production data; rows
are then bulk-inserted. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from pathway.db.models import EpisodeRow, EventRow
from pathway.domain.audit import GENESIS, chain_hash, event_payload
from pathway.domain.decisions import EpisodeSnapshot, decide
from pathway.domain.history import RecordedEvent
from pathway.domain.rules import RuleSet
from tests.pathway_spec import DEFAULT_RULES

RULES = RuleSet(1, DEFAULT_RULES)
TODAY = date(2030, 1, 1)


def _path(rng: random.Random) -> Iterator[tuple[str, int, dict[str, str]]]:
    """(trigger, days after the previous step, fields) for one plausible course of care."""
    r = rng.randint
    yield "order_radiographs", r(1, 3), {}
    yield "record_radiographs", r(3, 14), {"result": rng.choice(["negative", "negative", "equivocal"])}
    yield "order_mri", r(1, 3), {}
    mri = {"ifs_mm": str(r(8, 14)), "qfs_mm": str(r(5, 9)), "qf_edema": "true", "qf_fatty_replacement": "false"}
    yield "record_mri", r(7, 30), mri | ({"positioning": "neutral rotation"} if rng.random() < 0.3 else {})
    if rng.random() < 0.1:
        yield "close", r(1, 20), {"reason": "withdrawn"}
        return
    yield "confirm_diagnosis", r(1, 10), {}
    yield "start_conservative", r(3, 14), {"pain": str(r(5, 9)), "mhhs": f"{rng.uniform(35, 70):.1f}"}
    yield "inject", r(10, 30), {"guidance": "ultrasound", "agent": "corticosteroid_anaesthetic"}
    before = r(6, 9)
    relief = rng.choice(["temporary", "temporary", "none", "sustained"])
    response = {"pain_before": str(before), "pain_after": str(r(1, before)), "relief": relief}
    yield "record_injection_response", r(1, 20), response
    yield "record_followup", r(20, 40), {"pain": str(r(3, 8)), "note": "reviewed in clinic"}
    outcome = rng.choices(["persistent", "improved", "resolved"], [2, 1, 1])[0]
    yield "reassess", r(20, 120), {"outcome": outcome, "pain": str(r(1, 8))}
    if outcome == "resolved":
        return
    if outcome == "improved":
        yield (
            "discharge",
            r(30, 90),
            {"outcome": "improved", "pain": str(r(0, 4)), "mhhs": f"{rng.uniform(60, 95):.1f}"},
        )
        return
    yield "refer_to_surgery", r(1, 20), {}
    approach = "endoscopic" if rng.random() < 0.85 else "open"
    wait = r(10, 60)
    plan = {"approach": approach, "planned_on": f"+{wait}"}
    if approach == "open":
        plan["open_indication"] = "complex"
    yield "schedule_surgery", r(5, 30), plan
    yield (
        "record_surgery",
        wait,
        {"approach": approach, "sciatic_neurolysis": "true" if approach == "open" else "false"},
    )
    yield "record_followup", r(38, 46), {"pain": str(r(1, 6)), "mhhs": f"{rng.uniform(50, 90):.1f}"}
    yield "record_followup", r(40, 55), {"pain": str(r(0, 5))}
    yield "discharge", r(80, 100), {"outcome": rng.choice(["improved", "resolved"]), "pain": str(r(0, 4)),
                                    "mhhs": f"{rng.uniform(60, 100):.1f}"}  # fmt: skip


def _episode(eid: int, rng: random.Random, steps: int | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One episode and its events; with ``steps``, stopped after that many steps (still in care)."""
    referred = date(2024, 1, 1) + timedelta(days=rng.randint(0, 900))
    at = datetime(2024, 1, 1, 8, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 80_000_000))
    patient = f"MRN-{eid:07d}"
    side = rng.choice(["left", "right"])
    fields = {"patient_ref": patient, "side": side, "referred_on": referred.isoformat(), "has_hip_arthroplasty": False}
    rows = [dict(trigger="open", from_state=None, to_state="referred", fields=fields, occurred_on=referred,
                 guards=[], override_reason=None, overridden_guards=[])]  # fmt: skip
    history = [RecordedEvent(1, "open", None, "referred", referred, fields)]
    state, on, entered = "referred", referred, referred
    for trigger, days, raw in _path(rng):
        if steps is not None and len(rows) > steps:
            break
        on += timedelta(days=days)
        if raw.get("planned_on", "").startswith("+"):
            raw = raw | {"planned_on": (on + timedelta(days=int(raw["planned_on"][1:]))).isoformat()}
        snapshot = EpisodeSnapshot(eid, state, referred, False, RULES, history)
        try:
            decision = decide(snapshot, trigger, raw, on, TODAY)
        except Exception:  # a guard refused: a clinician overrides, as happens in practice
            decision = decide(snapshot, trigger, raw, on, TODAY, "clinical judgement, see notes")
        history.append(RecordedEvent(len(history) + 1, trigger, state, decision.to_state, on, decision.fields))
        rows.append(dict(trigger=trigger, from_state=state, to_state=decision.to_state, fields=decision.fields,
                         occurred_on=on, guards=[v.as_dict() for v in decision.verdicts],
                         override_reason=decision.override_reason, overridden_guards=decision.overridden))  # fmt: skip
        if decision.to_state != state:
            entered = on
        state = decision.to_state
    prev = GENESIS
    for seq, row in enumerate(rows, 1):
        row.update(episode_id=eid, seq=seq, recorded_at=at + timedelta(days=(row["occurred_on"] - referred).days,
                                                                       seconds=seq), actor="coordinator-a",
                   role=None, rules_version=1)  # fmt: skip
        row["prev_hash"] = prev
        row["hash"] = prev = chain_hash(prev, event_payload(**{k: v for k, v in row.items() if k != "prev_hash"}))
    episode = dict(id=eid, patient_ref=patient, side=side, referred_on=referred, has_hip_arthroplasty=False,
                   state=state, state_entered_on=entered, last_event_on=on, rules_version=1, opened_at=at,
                   opened_by="coordinator-a", event_count=len(rows), head_hash=prev, version=len(rows))  # fmt: skip
    return episode, rows


def fill(engine: sa.Engine, events: int, seed: int = 1, *, unfinished: float = 0.0) -> tuple[int, int]:
    """Insert episodes until there are at least ``events`` events; returns (episodes, events).

    A share ``unfinished`` of the episodes stops part-way along the pathway, as episodes
    still in care do; the others run to discharge or closure.
    """
    rng = random.Random(seed)
    done_events = eid = 0
    batch_episodes: list[dict[str, Any]] = []
    batch_events: list[dict[str, Any]] = []

    def flush() -> None:
        with engine.begin() as conn:
            conn.execute(sa.insert(EpisodeRow.__table__), batch_episodes)
            conn.execute(sa.insert(EventRow.__table__), batch_events)
        batch_episodes.clear()
        batch_events.clear()

    while done_events < events:
        eid += 1
        steps = rng.randint(1, 16) if unfinished and rng.random() < unfinished else None
        episode, rows = _episode(eid, rng, steps)
        batch_episodes.append(episode)
        batch_events.extend(rows)
        done_events += len(rows)
        if len(batch_events) >= 20_000:
            flush()
    if batch_events:
        flush()
    return eid, done_events
