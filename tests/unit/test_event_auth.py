"""How an event's actor was established is part of its hash, except for the old default."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pathway.domain.audit import GENESIS, chain_hash, payload_of

EVENT = {
    "episode_id": 1, "seq": 1, "trigger": "open", "from_state": None, "to_state": "referred", "fields": {},
    "occurred_on": date(2026, 1, 5), "recorded_at": datetime(2026, 1, 5, tzinfo=UTC), "actor": "kim",
    "role": "coordinator", "rules_version": 1, "guards": [], "override_reason": None, "overridden_guards": [],
}  # fmt: skip


def test_claimed_events_keep_the_hash_they_had_before_auth_existed() -> None:
    assert payload_of({**EVENT, "auth": "claimed"}) == payload_of(EVENT)


def test_a_proven_actor_is_hashed_so_changing_how_they_were_proven_breaks_the_chain() -> None:
    hashes = {auth: chain_hash(GENESIS, payload_of({**EVENT, "auth": auth})) for auth in ("password", "token", "oidc")}
    assert len(set(hashes.values())) == 3
    assert chain_hash(GENESIS, payload_of({**EVENT, "auth": "claimed"})) not in hashes.values()
