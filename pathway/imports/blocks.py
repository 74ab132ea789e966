"""Judging one patient's rows on one side (a *block*) into the rows to insert.

Pure and picklable, so that a large file's blocks can be judged in worker processes
while the main process writes: each episode opened by the file is replayed with
``domain.replay`` (``decide`` on an in-memory snapshot) and, when every row is accepted,
turned into its episode, event and flag rows (``db.bulk.episode_rows``,
``db.flags.new_flag_rows``), hashes chained. Episodes that continue one already in the
database come with its snapshot, loaded by the caller, and give back decisions to
append through the repository.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pathway.db import flags
from pathway.db.bulk import NewEpisode, Recorded, Step, episode_rows
from pathway.domain.access import OVERRIDE, acting_role, advance_action
from pathway.domain.decisions import EpisodeSnapshot, opening_fields
from pathway.domain.replay import OPEN, Accepted, Replayed, opened, opening, replay
from pathway.domain.rules import RuleSet
from pathway.domain.states import TERMINAL
from pathway.errors import InvalidInput
from pathway.imports import columns

Cells = dict[str, str]


@dataclass(frozen=True)
class Context:
    """What judging needs besides the rows: the same for every block of one import."""

    rules: RuleSet
    today: date
    override_reason: str | None
    held: list[str] | None  # the importer's roles (None: open mode, events carry no role)
    recorded: Recorded
    decimal_comma: bool

    def role(self, action: str, overridden: bool) -> str | None:
        if self.held is None:
            return None
        return acting_role(self.held, (action, OVERRIDE) if overridden else (action,))


@dataclass(frozen=True)
class Block:
    """One patient and side: each group is one episode's rows (by episode key), sorted."""

    patient_ref: str
    side: str
    patient: int  # the patient's position in the file
    groups: list[list[tuple[int, Cells]]]
    ids: list[int]  # one id per group that opens an episode (first row ``open``), in order
    snapshots: dict[int, EpisodeSnapshot] = field(default_factory=dict)  # group index -> episode continued


@dataclass
class Opened:
    """An episode the file opens, accepted row for row, ready to insert."""

    open_row: int
    referred_on: date
    state: str
    episode: dict[str, Any]
    events: list[dict[str, Any]]
    flags: list[dict[str, Any]]


@dataclass
class Continued:
    group: int
    accepted: list[Accepted]
    state: str


@dataclass
class Judged:
    patient_ref: str
    side: str
    patient: int
    opened: list[Opened] = field(default_factory=list)
    continued: list[Continued] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    triggers: Counter[str] = field(default_factory=Counter)
    overrides: int = 0

    def refuse(self, row: int, trigger: str, kind: str, reasons: Any) -> None:
        self.problems.append({"row": row, "patient": self.patient, "trigger": trigger, "kind": kind,
                              "reasons": list(reasons)})  # fmt: skip

    def not_checked(self, steps: list[Any], after_row: int) -> None:
        for s in steps:
            self.refuse(s.row, s.trigger, "not_checked",
                        [f"it follows row {after_row} of the same episode, which must be fixed first."])  # fmt: skip

    def record(self, result: Replayed) -> None:
        for p in result.problems:
            self.refuse(p.row, p.trigger, p.kind, p.reasons)


def needs_database(groups: list[list[tuple[int, Cells]]]) -> bool:
    """Whether some episode of the block has no open row: it continues one in the database."""
    return any(all(cells["trigger"].strip().lower() != OPEN for _, cells in group) for group in groups)


def opens(group: list[tuple[int, Cells]]) -> bool:
    return group[0][1]["trigger"].strip().lower() == OPEN


def judge(block: Block, ctx: Context) -> Judged:
    """Every episode of ``block``, judged; rows to insert only for episodes without a problem."""
    judged = Judged(block.patient_ref, block.side, block.patient)
    ids = iter(block.ids)
    for index, group in enumerate(block.groups):
        steps = [columns.step(row, cells, decimal_comma=ctx.decimal_comma) for row, cells in group]
        first = steps[0]
        if first.trigger == OPEN:
            _judge_new(block, ctx, judged, steps, next(ids))
        elif any(s.trigger == OPEN for s in steps):
            opening_row = next(s.row for s in steps if s.trigger == OPEN)
            judged.refuse(first.row, first.trigger, "invalid", [
                f"it is dated before this episode's open row (row {opening_row}), which must come first: "
                "the referral date is the episode's first date."
            ])  # fmt: skip
            judged.not_checked(steps[1:], first.row)
        elif index in block.snapshots:
            result = replay(block.snapshots[index], steps, ctx.today, ctx.override_reason)
            judged.record(result)
            judged.continued.append(Continued(index, result.accepted, result.snapshot.state))
            for a in result.accepted:
                judged.triggers[a.decision.trigger] += 1
                judged.overrides += a.decision.override_reason is not None
        else:
            judged.refuse(first.row, first.trigger, "invalid", [
                "there is no open episode for this patient on this side, in the database or opened by this file: "
                "an episode's first row needs trigger open."
            ])  # fmt: skip
            judged.not_checked(steps[1:], first.row)
    return judged


def _judge_new(block: Block, ctx: Context, judged: Judged, steps: list[Any], episode_id: int) -> None:
    first = steps[0]
    try:
        referred_on, arthroplasty = opening(first, ctx.today, block.side)
    except InvalidInput as exc:
        judged.refuse(first.row, OPEN, "invalid", [exc.message])
        judged.not_checked(steps[1:], first.row)
        return
    fields = opening_fields(block.patient_ref, block.side, referred_on, arthroplasty)
    result = replay(opened(episode_id, referred_on, arthroplasty, ctx.rules, fields), steps[1:], ctx.today,
                    ctx.override_reason)  # fmt: skip
    judged.record(result)
    if result.problems:
        return
    accepted = [
        Step(a.row, a.decision, ctx.role(advance_action(a.decision.trigger), a.decision.override_reason is not None))
        for a in result.accepted
    ]
    new = NewEpisode(block.patient_ref, block.side, referred_on, arthroplasty, first.row,
                     ctx.role("episode.open", False), accepted, result.snapshot)  # fmt: skip
    episode, events = episode_rows(episode_id, new, ctx.recorded)
    key = flags.EpisodeKey(episode_id, result.snapshot.state, result.snapshot.referred_on, ctx.rules.version)
    flag_rows = flags.new_flag_rows(key, result.snapshot.events, ctx.rules)
    judged.opened.append(Opened(first.row, referred_on, result.snapshot.state, episode, events, flag_rows))
    judged.triggers[OPEN] += 1
    for step in accepted:
        judged.triggers[step.decision.trigger] += 1
        judged.overrides += step.decision.override_reason is not None


def still_open(judged: Judged) -> list[Opened]:
    return [o for o in judged.opened if o.state not in TERMINAL]


# -- worker processes ------------------------------------------------------------------

_CONTEXT: Context | None = None


def start_worker(ctx: Context) -> None:
    global _CONTEXT
    _CONTEXT = ctx


def judge_in_worker(blocks: list[Block]) -> list[Judged]:
    assert _CONTEXT is not None
    return [judge(block, _CONTEXT) for block in blocks]
