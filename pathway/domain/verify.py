"""Checking an episode's hash chain and its episode row against each other.

Pure: it is fed the stored rows (one episode at a time, events in ``seq`` order) and
recomputes every hash with the same functions that wrote them (``audit.py``). It names
the *first* broken link and what most likely happened there, so that a reviewer knows
where to look: an event edited, deleted (the last one included), inserted or reordered,
or an episode row that no longer agrees with its own chain. Messages never quote
patient identifiers.

A chain that someone rewrote completely, episode row included, is consistent again:
no unkeyed hash chain can notice that. Signed checkpoints kept elsewhere do
(``checkpoint.py``: the database must still extend each one).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pathway.domain.audit import GENESIS, canonical_json, chain_hash, payload_of
from pathway.domain.effective import replay, revisions
from pathway.domain.fields import canonical_value
from pathway.domain.history import OPEN, RecordedEvent


@dataclass(frozen=True)
class StoredEvent:
    """One row of the events table, as stored."""

    episode_id: int
    seq: int
    trigger: str
    from_state: str | None
    to_state: str
    fields: dict[str, Any]
    occurred_on: date
    recorded_at: datetime
    actor: str
    role: str | None
    rules_version: int
    guards: list[dict[str, Any]]
    override_reason: str | None
    overridden_guards: list[str]
    prev_hash: str
    hash: str
    source: str | None = None
    source_sha256: str | None = None
    source_row: int | None = None
    auth: str = "claimed"

    def rehash(self, prev_hash: str) -> str:
        """The hash this event's content would have after ``prev_hash``."""
        return chain_hash(prev_hash, payload_of(self))

    def links(self, prev_hash: str) -> bool:
        """Whether this event's stored hash is that of its content after ``prev_hash``.

        Before numbers were made canonical, PostgreSQL stored a field typed ``-0.0`` as
        ``0.0`` (JSONB has no negative zero) under a hash of ``-0.0``: such an event also
        matches with its zero fields negative. The value is the same, so nothing is excused.
        """
        if self.rehash(prev_hash) == self.hash:
            return True
        inside = self.fields.get("set")
        corrected: dict[str, Any] = inside if isinstance(inside, dict) else {}
        zeros = [(where, name) for where, values in ((None, self.fields), ("set", corrected))
                 for name, value in values.items() if isinstance(value, float) and value == 0.0]  # fmt: skip
        if not zeros or len(zeros) > 6:
            return False
        payload = payload_of(self)
        for signs in itertools.product((0.0, -0.0), repeat=len(zeros)):
            if all(math.copysign(1, sign) > 0 for sign in signs):
                continue  # tried above
            fields, inner = dict(self.fields), dict(corrected)
            for (where, name), sign in zip(zeros, signs, strict=True):
                (inner if where else fields)[name] = sign
            if corrected:
                fields["set"] = inner
            if chain_hash(prev_hash, {**payload, "fields": fields}) == self.hash:
                return True
        return False


@dataclass(frozen=True)
class EpisodeHead:
    """The episode row: its chain head and the projection that must follow from the chain."""

    id: int
    event_count: int
    head_hash: str
    version: int
    patient_ref: str
    side: str
    referred_on: date
    has_hip_arthroplasty: bool
    state: str
    state_entered_on: date
    last_event_on: date
    rules_version: int


@dataclass(frozen=True)
class Break:
    """The first broken link of one episode."""

    episode_id: int
    kind: str  # edited | deleted | inserted | reordered
    seq: int | None  # the event concerned; None when it is the episode row itself
    where: str  # event | episode
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"episode_id": self.episode_id, "kind": self.kind, "seq": self.seq, "where": self.where,
                "message": self.message}  # fmt: skip


@dataclass(frozen=True)
class StoredRevision:
    """One row of the revisions table (how a corrected, voided or re-derived event now counts)."""

    seq: int
    status: str
    by_seq: int | None
    from_state: str | None
    to_state: str
    occurred_on: date
    fields: dict[str, Any]


def verify_episode(
    episode_id: int, head: EpisodeHead | None, events: Sequence[StoredEvent], revisions: Sequence[StoredRevision] = ()
) -> Break | None:
    """The first broken link of one episode, or None when chain, row and revisions agree."""
    if not events:
        if head is None:
            return None
        return Break(
            episode_id, "deleted", 1, "event",
            f"{_missing(1, head.event_count)[:-1]}: the episode row records {head.event_count}, none remain.",
        )  # fmt: skip
    found = _first_break_in_chain(episode_id, events, head)
    if found is not None:
        return found
    if head is None:
        return Break(
            episode_id, "deleted", None, "episode",
            f"the episode row is missing while its {len(events)} event(s) remain.",
        )  # fmt: skip
    return _check_head(head, events, revisions)


def _first_break_in_chain(episode_id: int, events: Sequence[StoredEvent], head: EpisodeHead | None) -> Break | None:
    def brk(kind: str, seq: int | None, message: str) -> Break:
        return Break(episode_id, kind, seq, "event", message)

    position = {e.hash: i for i, e in enumerate(events)}
    # Events past the row's count are insertions, unless the row's head points at them (then the count was edited).
    beyond = head.event_count if head is not None and head.head_hash != events[-1].hash else None
    prev, expected = GENESIS, 1
    for i, event in enumerate(events):
        if event.seq < expected:
            return brk("inserted", event.seq, f"an extra event numbered {event.seq} was inserted.")
        if beyond is not None and event.seq > beyond:
            return brk(
                "inserted", event.seq,
                f"event {event.seq} was inserted after the chain head kept on the episode row ({beyond} events).",
            )  # fmt: skip
        if event.prev_hash != prev:
            found = position.get(event.prev_hash)
            following = events[i + 1] if i + 1 < len(events) else None
            if found is not None and found > i:
                return brk(
                    "reordered", event.seq,
                    f"event {event.seq} is out of order: it follows the event now numbered {events[found].seq}.",
                )  # fmt: skip
            if found is not None and found < i - 1:
                first = events[found + 1].seq
                return brk(
                    "inserted", first,
                    f"event {first} was inserted: event {event.seq} links to event {events[found].seq}, "
                    "skipping it.",
                )  # fmt: skip
            if following is not None and following.prev_hash == prev:
                return brk("inserted", event.seq, f"event {event.seq} was inserted: the next event skips it.")
            if event.seq > expected:
                return brk("deleted", expected, _missing(expected, event.seq - 1))
            if event.links(prev):
                return brk(
                    "edited", event.seq, f"event {event.seq} was changed: its stored link to the previous event."
                )
            if i > 0 and event.links(event.prev_hash):
                before = events[i - 1].seq
                return brk(
                    "edited", before,
                    f"event {before} was changed and its hash recomputed: event {event.seq} no longer links to it.",
                )  # fmt: skip
            return brk(
                "deleted", event.seq,
                f"the event before event {event.seq} is missing: event {event.seq} links to an event that is not "
                "there (removed, and the later events renumbered).",
            )  # fmt: skip
        if not event.links(prev):
            return brk("edited", event.seq, f"event {event.seq} was changed: its content no longer matches its hash.")
        if event.seq > expected:
            return brk("deleted", expected, _missing(expected, event.seq - 1))
        prev, expected = event.hash, event.seq + 1
    return None


def _missing(first: int, last: int) -> str:
    return f"event {first} is missing." if first == last else f"events {first} to {last} are missing."


def _check_head(head: EpisodeHead, events: Sequence[StoredEvent], revisions: Sequence[StoredRevision]) -> Break | None:
    """The chain is intact: does the episode row agree with it?"""

    def row(message: str) -> Break:
        return Break(head.id, "edited", None, "episode", message)

    count = len(events)
    if count < head.event_count:
        tail = "the last event is" if count + 1 == head.event_count else "the last events are"
        return Break(
            head.id, "deleted", count + 1, "event",
            f"{_missing(count + 1, head.event_count)[:-1]}: {tail} gone (the episode row records "
            f"{head.event_count} events, the chain ends at {count}).",
        )  # fmt: skip
    last = events[-1]
    if count > head.event_count:
        if last.hash == head.head_hash:
            return row(f"the episode row's event count ({head.event_count}) was changed; the chain has {count}.")
        return Break(
            head.id, "inserted", head.event_count + 1, "event",
            f"event {head.event_count + 1} was inserted after the chain head kept on the episode row.",
        )  # fmt: skip
    if last.hash != head.head_hash:
        return Break(
            head.id, "edited", last.seq, "event",
            f"event {last.seq} does not match the chain head kept on the episode row: the last event was "
            "replaced and re-hashed, or the row's head was changed.",
        )  # fmt: skip
    if head.version != head.event_count:
        return row(f"the episode row's version ({head.version}) differs from its event count ({head.event_count}).")
    problems = _projection_problems(head, events, revisions)
    if problems:
        return row(f"the episode row disagrees with its audited events: {'; '.join(problems)}.")
    return None


def _projection_problems(
    head: EpisodeHead, events: Sequence[StoredEvent], stored: Sequence[StoredRevision]
) -> list[str]:
    """What the episode row and its revisions say that its events, replayed as they now count, do not.

    Named, never quoted.
    """
    opening = events[0]
    if opening.trigger != OPEN:
        return ["its first event is not the opening"]
    records = [recorded(e) for e in events]
    try:
        result = replay(records)
    except (KeyError, TypeError, ValueError, AttributeError):
        return ["its events cannot be replayed (fields missing or malformed)"]
    expected_revisions = {
        (r.seq, r.status.kind, r.status.by, r.from_state, r.to_state, r.occurred_on, _same(r.fields))
        for r in revisions(records, result)
    }
    found_revisions = {
        (r.seq, r.status, r.by_seq, r.from_state, r.to_state, r.occurred_on, _same(r.fields)) for r in stored
    }
    attrs = result.attributes
    expected = {
        "patient reference": (head.patient_ref, attrs.patient_ref),
        "side": (head.side, attrs.side),
        "referral date": (head.referred_on, attrs.referred_on),
        "arthroplasty flag": (head.has_hip_arthroplasty, attrs.has_hip_arthroplasty),
        "state": (head.state, result.state),
        "date the state was entered": (head.state_entered_on, result.state_entered_on),
        "latest event date": (head.last_event_on, result.last_event_on),
        "pinned rules version": (head.rules_version, events[-1].rules_version),
    }
    problems = [f"{name} differs" for name, (kept, derived) in expected.items() if kept != derived]
    if expected_revisions != found_revisions:
        problems.append("how corrected or voided events now count (its revisions) differs")
    return problems


def _same(fields: dict[str, Any]) -> str:
    """Fields as text for comparison: one spelling per number (0.0 and 0 are one value)."""
    return canonical_json(canonical_value(fields))


def recorded(event: StoredEvent) -> RecordedEvent:
    """A stored event as the domain replays it."""
    return RecordedEvent(event.seq, event.trigger, event.from_state, event.to_state, event.occurred_on, event.fields,
                         event.rules_version, tuple(event.overridden_guards or ()))  # fmt: skip
