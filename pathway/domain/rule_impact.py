"""What moving a running episode to another rule set would change for it.

The episode is judged as of today under its current rules and under the new ones,
with the same guards the engine runs (``decisions.options``). For each guard of each
trigger possible now we also find the first day it passes: date-dependent guards
("at least N days since …", "fewer than N injections in 365 days") only turn from
refused to allowed as time passes while nothing new is recorded, so a binary search
over the days ahead finds that day; guards that time cannot change have none.

The result is a list of sections, each computed by one function from the two
snapshots: guard verdicts and the days they start to pass, and the flags (timers) whose
due or overdue days move. A new kind of consequence is one more entry in ``SECTIONS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from pathway.domain.decisions import EpisodeSnapshot, options
from pathway.domain.guards import GuardContext
from pathway.domain.history import Facts
from pathway.domain.rules import RuleSet
from pathway.domain.timers import ExpectedFlag, expected_flags
from pathway.domain.triggers import TRIGGERS

# Longer than any wait a rule can impose (the catalogue allows at most 730 days).
HORIZON_DAYS = 1100


@dataclass(frozen=True)
class GuardOutlook:
    """A guard's verdict today and, when refused, the first day time alone lets it pass."""

    passed: bool
    allowed_from: date | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        shown = self.allowed_from.isoformat() if self.allowed_from else None
        return {"passed": self.passed, "allowed_from": shown, "message": self.message}


def _first_passing_day(
    snapshot: EpisodeSnapshot, facts: Facts, trigger: str, guard_name: str, today: date
) -> date | None:
    guard = next(g for g in TRIGGERS[trigger].guards if g.__name__ == guard_name)

    def passes(day: date) -> bool:
        return guard(GuardContext(facts, snapshot.rules, None, day)).passed

    low, high = today, today + timedelta(days=HORIZON_DAYS)
    if not passes(high):
        return None
    while (high - low).days > 1:
        middle = low + timedelta(days=(high - low).days // 2)
        low, high = (low, middle) if passes(middle) else (middle, high)
    return high


def outlook(snapshot: EpisodeSnapshot, today: date) -> dict[tuple[str, str], GuardOutlook]:
    """Every guard of every trigger possible now, keyed by (trigger, guard)."""
    result = {}
    facts = snapshot.facts()  # once: the binary searches below only move the day
    start = max(today, facts.latest_clinical_date)
    for option in options(snapshot, today):
        for verdict in option.verdicts:
            allowed_from = (
                None if verdict.passed else _first_passing_day(snapshot, facts, option.trigger, verdict.guard, start)
            )
            result[(option.trigger, verdict.guard)] = GuardOutlook(verdict.passed, allowed_from, verdict.message)
    return result


def _summary(before: GuardOutlook, after: GuardOutlook) -> str:
    if before.passed and not after.passed:
        until = f" until {after.allowed_from}" if after.allowed_from else ""
        return f"now refused{until}: {after.message}"
    if after.passed and not before.passed:
        return f"now passes (was refused): {after.message}"
    if before.allowed_from and after.allowed_from:
        sooner = "earlier" if after.allowed_from < before.allowed_from else "later"
        return f"allowed from {after.allowed_from} instead of {before.allowed_from} ({sooner}): {after.message}"
    return f"{after.message}"


def guard_changes(old: EpisodeSnapshot, new: EpisodeSnapshot, today: date) -> list[dict[str, Any]]:
    """Guards whose verdict, or the day they start to pass, differs under the new rules."""
    before, after = outlook(old, today), outlook(new, today)
    changes = []
    for key, was in before.items():
        now = after[key]
        if (was.passed, was.allowed_from) != (now.passed, now.allowed_from):
            trigger, guard = key
            changes.append(
                {
                    "trigger": trigger,
                    "guard": guard,
                    "before": was.as_dict(),
                    "after": now.as_dict(),
                    "summary": _summary(was, now),
                }
            )
    return changes


def _flag_name(flag: ExpectedFlag) -> str:
    return f"{flag.kind} (day {flag.milestone})" if flag.milestone else flag.kind


def _moved(kind: str, before: date, after: date) -> str:
    return f"{kind} {before} -> {after} ({'earlier' if after < before else 'later'})"


def timer_changes(old: EpisodeSnapshot, new: EpisodeSnapshot, _today: date) -> list[dict[str, Any]]:
    """Flags (timers) whose due or overdue day moves, or that appear or disappear."""
    facts = old.facts()
    before = {f.key: f for f in expected_flags(old.state, facts, old.rules)}
    after = {f.key: f for f in expected_flags(new.state, facts, new.rules)}
    changes = []
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        if was == now:
            continue
        if was is None or now is None:
            flag = now or was
            assert flag is not None
            what = "new" if was is None else "no longer expected"
            summary = f"{_flag_name(flag)}: {what} (due {flag.due_on}, overdue {flag.overdue_on})"
        else:
            moves = [_moved(k, getattr(was, f"{k}_on"), getattr(now, f"{k}_on")) for k in ("due", "overdue")
                     if getattr(was, f"{k}_on") != getattr(now, f"{k}_on")]  # fmt: skip
            summary = f"{_flag_name(now)}: {'; '.join(moves)}"
        changes.append(
            {
                "kind": key[0],
                "milestone": key[2] or None,
                "before": {"due_on": str(was.due_on), "overdue_on": str(was.overdue_on)} if was else None,
                "after": {"due_on": str(now.due_on), "overdue_on": str(now.overdue_on)} if now else None,
                "summary": summary,
            }
        )
    return changes


Section = Callable[[EpisodeSnapshot, EpisodeSnapshot, date], list[dict[str, Any]]]

# Each section: a name and a function of (snapshot under old rules, under new rules, today).
SECTIONS: tuple[tuple[str, Section], ...] = (("guards", guard_changes), ("timers", timer_changes))


def impact(snapshot: EpisodeSnapshot, new_rules: RuleSet, today: date) -> dict[str, list[dict[str, Any]]]:
    """What would change for this episode if it were pinned to ``new_rules``, by section."""
    moved = replace(snapshot, rules=new_rules)
    return {name: section(snapshot, moved, today) for name, section in SECTIONS}
