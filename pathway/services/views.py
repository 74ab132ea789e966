"""JSON-ready views of rows, shared by every command that prints them."""

from __future__ import annotations

from typing import Any

from pathway.db.models import EpisodeRow, EventRow, RuleSetRow


def episode_view(row: EpisodeRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "patient_ref": row.patient_ref,
        "side": row.side,
        "referred_on": row.referred_on.isoformat(),
        "has_hip_arthroplasty": row.has_hip_arthroplasty,
        "state": row.state,
        "state_entered_on": row.state_entered_on.isoformat(),
        "last_event_on": row.last_event_on.isoformat(),
        "rules_version": row.rules_version,
        "version": row.version,
        "event_count": row.event_count,
        "opened_at": row.opened_at.isoformat(),
        "opened_by": row.opened_by,
    }


def event_view(row: EventRow) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "trigger": row.trigger,
        "from_state": row.from_state,
        "to_state": row.to_state,
        "occurred_on": row.occurred_on.isoformat(),
        "fields": row.fields,
        "actor": row.actor,
        "role": row.role,
        "recorded_at": row.recorded_at.isoformat(),
        "rules_version": row.rules_version,
        "guards": row.guards,
        "override_reason": row.override_reason,
        "overridden_guards": row.overridden_guards,
        "hash": row.hash,
        "source": row.source,
        "source_sha256": row.source_sha256,
        "source_row": row.source_row,
        "auth": row.auth,
    }


def rule_set_view(row: RuleSetRow) -> dict[str, Any]:
    return {
        "version": row.version,
        "status": row.status,
        "created_at": row.created_at.isoformat(),
        "created_by": row.created_by,
        "activated_at": row.activated_at.isoformat() if row.activated_at else None,
        "activated_by": row.activated_by,
        "retired_at": row.retired_at.isoformat() if row.retired_at else None,
        "note": row.note,
        "rules": [
            {"key": r.key, "value": r.value, "type": r.value_type, "unit": r.unit, "basis": r.basis} for r in row.rules
        ],
    }
