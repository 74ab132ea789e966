"""The specification's tables as Markdown, built from the domain definitions.

The documentation site inserts these at build time, so the pages cannot disagree with
the engine: a new trigger, field, guard, timer or default rule shows up in the docs
without anyone editing them. Pure: reads the domain and the seeding migration only.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from pathway.domain import guards as g
from pathway.domain.fields import Field
from pathway.domain.rules import CATALOGUE
from pathway.domain.states import INITIAL, STATES, TERMINAL
from pathway.domain.timers import KINDS, clearing_triggers
from pathway.domain.triggers import OPENING, TRIGGERS, TriggerSpec

SEED = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0001_initial.py"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _code(names: Iterable[str]) -> str:
    return ", ".join(f"`{n}`" for n in names) or "—"


def guard_rule_keys(guard: Callable[..., Any]) -> tuple[str, ...]:
    """The rule keys a guard's code names, in catalogue order (read from its source)."""
    source = inspect.getsource(guard)
    return tuple(key for key in CATALOGUE if f'"{key}"' in source)


def _guard_doc(guard: Callable[..., Any]) -> str:
    doc = inspect.getdoc(guard) or ""
    return doc.split("\n\n")[0].replace("\n", " ")


def _edges(spec: TriggerSpec) -> str:
    parts = []
    for edge in spec.edges:
        dest = "same state" if edge.dest == "=" else edge.dest
        when = {True: " when the outcome is resolved", False: " otherwise", None: ""}[edge.when_resolved]
        sources = ", ".join(edge.sources) if len(edge.sources) < len(STATES) - len(TERMINAL) else "any open state"
        parts.append(f"{sources} → {dest}{when}")
    return "; ".join(parts)


def _field_brief(field: Field) -> str:
    return field.brief().replace("[", "optional ").replace("]", "")


def states() -> str:
    def role(state: str) -> str:
        if state == INITIAL:
            return "where every episode starts"
        if state in TERMINAL:
            return "terminal: nothing follows"
        return ""

    def leaving(state: str) -> str:
        return _code(name for name, spec in TRIGGERS.items() if state in spec.sources and name != "amend")

    return _table(("state", "", "triggers that leave or stay in it"), ((f"`{s}`", role(s), leaving(s)) for s in STATES))


def triggers() -> str:
    rows = (
        (f"`{n}`", s.summary, _edges(s), _code(f.name for f in s.fields), _code(x.__name__ for x in s.guards))
        for n, s in TRIGGERS.items()
    )
    return _table(("trigger", "what it records", "from → to", "fields", "guards"), rows)


def fields() -> str:
    rows = []
    for spec in (OPENING, *TRIGGERS.values()):
        for field in spec.fields:
            d = field.as_dict()
            kind = d["type"] + (f" ({d['unit']})" if "unit" in d else "")
            if "choices" in d:
                values = " | ".join(d["choices"]) if d["type"] == "choice" else "any of " + ", ".join(d["choices"])
            elif "min" in d:
                low = ">" if d.get("min_exclusive") else "≥"
                values = f"{low} {d['min']:g}, ≤ {d['max']:g}"
            else:
                values = ""
            required = "at opening" if spec is OPENING else ("yes" if field.required else "no")
            rows.append((f"`{spec.name}`", f"`{field.name}`", kind, values, required,
                         field.help))  # fmt: skip
        for name in spec.derived:
            rows.append((f"`{spec.name}`", f"`{name}`", "derived", "computed, never given", "—", ""))
    return _table(("trigger", "field", "type", "values", "required", "meaning"), rows)


def guards() -> str:
    used: dict[str, list[str]] = {}
    functions: dict[str, Callable[..., Any]] = {}
    for name, spec in TRIGGERS.items():
        for guard in spec.guards:
            used.setdefault(guard.__name__, []).append(name)
            functions[guard.__name__] = guard
    rows = [
        (f"`{n}`", _guard_doc(f), _code(guard_rule_keys(f)), _code(used[n])) for n, f in functions.items()
    ]
    rows.append(("`not_a_duplicate`", _guard_doc(g.not_a_duplicate), "—", "every trigger"))
    return _table(("guard", "what it checks", "rule keys", "triggers"), rows)


def timers() -> str:
    def clears(name: str) -> str:
        kind = KINDS[name]
        return _code(dict.fromkeys(t for s in kind.states for t in clearing_triggers(name, s)))

    rows = (
        (f"`{k.name}`", ", ".join(k.states), k.anchor, f"`{k.due_rule}`" if k.due_rule else "overdue day",
         f"`{k.overdue_rule}`", clears(k.name))  # fmt: skip
        for k in KINDS.values()
    )
    return _table(("flag", "while in", "counted from", "due", "overdue after", "cleared by"), rows)


@cache
def _seed_rules() -> list[tuple[Any, ...]]:
    spec = importlib.util.spec_from_file_location("pathway_seed_rules", SEED)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.RULES_V1)


def default_rules() -> str:
    def shown(value: Any) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)

    rows = []
    for key, value, _type, unit, basis in _seed_rules():
        spec = CATALOGUE[key]
        limits = f"{spec.lo:g}–{spec.hi:g}" if spec.lo is not None and spec.hi is not None else ""
        rows.append((f"`{key}`", f"{shown(value)}{' ' + unit if unit else ''}", spec.summary, limits, basis))
    return _table(("rule key", "version 1", "meaning", "allowed", "basis"), rows)


TABLES: dict[str, Callable[[], str]] = {
    "states": states,
    "triggers": triggers,
    "fields": fields,
    "guards": guards,
    "timers": timers,
    "default-rules": default_rules,
}
