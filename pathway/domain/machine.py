"""The pathway as a `transitions` state machine, shared by every episode.

One ``Machine`` is built per process from the trigger table and reused: guards read
the pinned rule set from the model they are evaluated on, so the same machine serves
every rule-set version (bench/machine.py measures what this saves). Each guard is a
named condition on its edges, which is also what diagrams draw.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from transitions import Machine

from pathway.domain.guards import GuardContext, Verdict
from pathway.domain.states import INITIAL, STATES
from pathway.domain.triggers import TRIGGERS, TriggerSpec

RESOLVED = "outcome_resolved"


def definition() -> dict[str, Any]:
    """Keyword arguments for a ``transitions`` machine (or a diagram machine)."""
    edges = []
    for spec in TRIGGERS.values():
        guard_names = [guard.__name__ for guard in spec.guards]
        for edge in spec.edges:
            transition: dict[str, Any] = {
                "trigger": spec.name,
                "source": list(edge.sources),
                "dest": edge.dest,
                "conditions": list(guard_names),
            }
            if edge.when_resolved is True:
                transition["conditions"] = [RESOLVED, *guard_names]
            elif edge.when_resolved is False:
                transition["unless"] = [RESOLVED]
            edges.append(transition)
    return {"states": list(STATES), "transitions": edges, "initial": INITIAL, "auto_transitions": False}


@lru_cache(maxsize=1)
def pathway_machine() -> Machine:
    return Machine(model=None, **definition())


class EpisodeModel:
    """What the machine acts on for one decision: a state plus the guards' inputs.

    All guards of the trigger are evaluated together on first use, so a refusal can
    list every failing guard even though `transitions` stops at the first false one.
    """

    def __init__(self, state: str, spec: TriggerSpec, ctx: GuardContext, override: bool) -> None:
        self.state = state
        self._spec = spec
        self._ctx = ctx
        self._override = override
        self._verdicts: dict[str, Verdict] | None = None

    @property
    def verdicts(self) -> list[Verdict]:
        if self._verdicts is None:
            self._verdicts = {guard.__name__: guard(self._ctx) for guard in self._spec.guards}
        return list(self._verdicts.values())

    def _guard_passes(self, name: str) -> bool:
        if self._override:  # also when re-deriving a history without judging it (no rules at hand)
            return True
        if self._verdicts is None:
            self.verdicts  # noqa: B018 - evaluates every guard once
        assert self._verdicts is not None
        return self._verdicts[name].passed

    def outcome_resolved(self) -> bool:
        return self._ctx.field("outcome") == "resolved"


def _condition(name: str):
    def check(self: EpisodeModel) -> bool:
        return self._guard_passes(name)

    check.__name__ = name
    check.__doc__ = f"Condition: guard {name} passes (or is overridden)."
    return check


for _spec in TRIGGERS.values():
    for _guard in _spec.guards:
        setattr(EpisodeModel, _guard.__name__, _condition(_guard.__name__))


def fire(model: EpisodeModel, trigger: str) -> bool:
    """Fire ``trigger`` on ``model`` with the shared machine; False means refused."""
    return pathway_machine().events[trigger].trigger(model)
