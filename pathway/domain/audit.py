"""The hash chain of an episode's events.

Each event's hash covers its content and the previous event's hash, and the episode
row keeps the latest hash and the event count; so an edited, inserted, reordered or
deleted event (the last one included) no longer matches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

GENESIS = "0" * 64
CLAIMED = "claimed"  # events.auth of an actor named at a terminal, not proven
AUTH_KINDS: tuple[str, ...] = ("password", "oidc", "token", CLAIMED)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def utc_text(moment: datetime) -> str:
    """A fixed textual form of an instant, identical whichever database stored it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_payload(
    *,
    episode_id: int,
    seq: int,
    trigger: str,
    from_state: str | None,
    to_state: str,
    fields: dict[str, Any],
    occurred_on: date,
    recorded_at: datetime,
    actor: str,
    role: str | None,
    rules_version: int,
    guards: list[dict[str, Any]],
    override_reason: str | None,
    overridden_guards: list[str],
    source: str | None = None,
    source_sha256: str | None = None,
    source_row: int | None = None,
    auth: str | None = None,
) -> dict[str, Any]:
    """The hashed content of an event: every audited column except the hashes.

    Columns added after the first release (``OPTIONAL_FIELDS``) are included only when
    set, so that events written before them keep their hashes; ``auth`` counts as unset
    when ``claimed`` (what every event written before it was).
    """
    payload = {
        "episode_id": episode_id,
        "seq": seq,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "fields": fields,
        "occurred_on": occurred_on.isoformat(),
        "recorded_at": utc_text(recorded_at),
        "actor": actor,
        "role": role,
        "rules_version": rules_version,
        "guards": guards,
        "override_reason": override_reason,
        "overridden_guards": overridden_guards,
    }
    optional = {"source": source, "source_sha256": source_sha256, "source_row": source_row,
                "auth": None if auth == CLAIMED else auth}  # fmt: skip
    payload.update((name, value) for name, value in optional.items() if value is not None)
    return payload


HASHED_FIELDS: tuple[str, ...] = (
    "episode_id", "seq", "trigger", "from_state", "to_state", "fields", "occurred_on", "recorded_at",
    "actor", "role", "rules_version", "guards", "override_reason", "overridden_guards",
)  # fmt: skip
# Hashed only when not null; absent from a record or mapping means null.
OPTIONAL_FIELDS: tuple[str, ...] = ("source", "source_sha256", "source_row", "auth")


def payload_of(event: Any) -> dict[str, Any]:
    """The hashed content of a stored event: a row, a record or a mapping of its columns."""
    get = event.__getitem__ if isinstance(event, Mapping) else partial(getattr, event)
    maybe = event.get if isinstance(event, Mapping) else partial(getattr, event)
    optional = {name: maybe(name, None) for name in OPTIONAL_FIELDS}
    return event_payload(**{name: get(name) for name in HASHED_FIELDS}, **optional)


def chain_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical_json(payload)}".encode()).hexdigest()


ACCESS_FIELDS: tuple[str, ...] = ("at", "actor", "role", "action", "outcome", "episode_id", "detail", "auth")


def access_payload(
    *,
    at: datetime,
    actor: str,
    role: str | None,
    action: str,
    outcome: str,
    episode_id: int | None,
    detail: Any,
    auth: str,
) -> dict[str, Any]:
    """The hashed content of an access-log row: every column except the id and the hashes."""
    return {
        "at": utc_text(at), "actor": actor, "role": role, "action": action, "outcome": outcome,
        "episode_id": episode_id, "detail": detail, "auth": auth,
    }  # fmt: skip


def access_payload_of(row: Any) -> dict[str, Any]:
    get = row.__getitem__ if isinstance(row, Mapping) else partial(getattr, row)
    return access_payload(**{name: get(name) for name in ACCESS_FIELDS})
