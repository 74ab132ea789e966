"""What changed between two rule sets, rule by rule, with units."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pathway.domain.rule_checks import RuleEntry


@dataclass(frozen=True)
class RuleChange:
    key: str
    change: str  # added | removed | changed
    old: RuleEntry | None
    new: RuleEntry | None

    @property
    def value_changed(self) -> bool:
        return (
            self.old is None or self.new is None or (self.old.value, self.old.unit) != (self.new.value, self.new.unit)
        )

    @property
    def basis_changed(self) -> bool:
        return self.old is None or self.new is None or self.old.basis != self.new.basis

    def as_dict(self) -> dict[str, Any]:
        def side(entry: RuleEntry | None) -> dict[str, Any] | None:
            return None if entry is None else {"value": entry.value, "unit": entry.unit, "basis": entry.basis}

        return {
            "key": self.key,
            "change": self.change,
            "old": side(self.old),
            "new": side(self.new),
            "value_changed": self.value_changed,
            "basis_changed": self.basis_changed,
        }


def diff(old: Sequence[RuleEntry], new: Sequence[RuleEntry]) -> list[RuleChange]:
    """Added, removed and changed rules (value, unit or basis), in the new set's order."""
    before = {e.key: e for e in old}
    after = {e.key: e for e in new}
    changes = []
    for key, entry in after.items():
        previous = before.get(key)
        if previous is None:
            changes.append(RuleChange(key, "added", None, entry))
        elif previous != entry:
            changes.append(RuleChange(key, "changed", previous, entry))
    changes += [RuleChange(key, "removed", entry, None) for key, entry in before.items() if key not in after]
    return changes


def shown(entry: RuleEntry | None) -> str:
    """A value with its unit, as a person writes it: ``42 days``, ``ultrasound, ct``, ``true``."""
    if entry is None:
        return "-"
    value = entry.value
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, list):
        text = ", ".join(map(str, value))
    else:
        text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{text} {entry.unit}" if entry.unit and entry.unit != "injections" else text
