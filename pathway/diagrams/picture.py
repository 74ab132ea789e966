"""SVG and PNG pictures of the pathway, drawn with matplotlib alone.

Graphviz's ``dot`` program is not something every site has, so the picture is laid out
here, from the same edges as the text diagrams: states in layers down the page (each
state one layer below the furthest state that leads to it, terminal states at the
bottom), guards on the edges. Triggers possible from every open state (``close``,
``amend``) would draw a line from every box; they are listed once in a footnote.
"""

from __future__ import annotations

import io
import textwrap

import matplotlib

matplotlib.use("Agg")  # files only, never a window

from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402

from pathway.diagrams.graph import TITLE, Marking, edges  # noqa: E402
from pathway.diagrams.layout import (  # noqa: E402
    NODE_H,
    NODE_W,
    distance,
    drawn_edges,
    everywhere_triggers,
    laid_out,
    to_border,
)
from pathway.domain.states import INITIAL, STATES, TERMINAL  # noqa: E402

COLOURS = {"default": ("white", "black"), "previous": ("azure", "blue"), "active": ("darksalmon", "red")}


def _along(points: list[tuple[float, float]], fraction: float) -> tuple[float, float]:
    """The point at ``fraction`` of a polyline's length."""
    lengths = [((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5 for (ax, ay), (bx, by) in zip(points, points[1:], strict=False)]
    left = fraction * sum(lengths)
    for (ax, ay), (bx, by), length in zip(points, points[1:], lengths, strict=False):
        if left <= length and length:
            t = left / length
            return (ax + t * (bx - ax), ay + t * (by - ay))
        left -= length
    return points[-1]


def _place(
    text: str, points: list[tuple[float, float]], back: bool, placed: list[tuple[float, float, float, float]]
) -> tuple[float, float]:
    """A spot along the edge where the label overlaps no box or earlier label (else the least bad one)."""
    lines = text.split("\n")
    half_w, half_h = max(map(len, lines)) * 3.9 / 2 + 2, len(lines) * 9 / 2 + 1
    best, best_overlap = _along(points, 0.5), float("inf")
    for fraction in (0.3, 0.45, 0.6, 0.2, 0.75) if back else (0.4, 0.55, 0.3, 0.7, 0.2):
        x, y = _along(points, fraction)
        box = (x - half_w, y - half_h, x + half_w, y + half_h)
        overlap = sum(
            max(0.0, min(box[2], o[2]) - max(box[0], o[0])) * max(0.0, min(box[3], o[3]) - max(box[1], o[1]))
            for o in placed
        )
        if overlap < best_overlap:
            best, best_overlap, best_box = (x, y), overlap, box
        if overlap == 0:
            break
    placed.append(best_box)
    return best


def _wrap(labels: tuple[str, ...]) -> str:
    lines = []
    for text in labels:
        lines += textwrap.wrap(text.replace(" & ", " &\u00a0"), 52, break_long_words=False)
    return "\n".join(line.replace("\u00a0", " ") for line in lines)


def draw(marking: Marking | None = None, title: str = TITLE) -> Figure:
    """The pathway as a matplotlib figure; every state and trigger appears as text on it."""
    all_edges = edges()
    everywhere = everywhere_triggers(all_edges)
    drawn = drawn_edges(all_edges)
    pos, routes = laid_out()
    xs, ys = [x for x, _ in pos.values()], [y for _, y in pos.values()]
    left, right, top, bottom = min(xs) - NODE_W, max(xs) + NODE_W * 1.6, min(ys) - 60, max(ys) + 70
    fig = plt.figure(figsize=((right - left) / 72, (bottom - top) / 72))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)  # y grows downwards, as grandalf lays it out
    ax.axis("off")
    ax.text((left + right) / 2, top + 22, title, ha="center", va="center", fontsize=14, weight="bold")
    placed: list[tuple[float, float, float, float]] = [(x - NODE_W / 2, y - NODE_H / 2, x + NODE_W / 2, y + NODE_H / 2)
                                                        for x, y in pos.values()]  # fmt: skip
    visited = set(marking.visited) if marking else set()
    taken = set(marking.steps) if marking else set()
    for state, (x, y) in pos.items():
        style = "active" if marking and state == marking.current else "previous" if state in visited else "default"
        fill, line = COLOURS[style]
        ax.add_patch(
            FancyBboxPatch((x - NODE_W / 2, y - NODE_H / 2), NODE_W, NODE_H, boxstyle="round,pad=2",
                           facecolor=fill, edgecolor=line, linewidth=2.2 if style == "active" else 1.0, zorder=3)
        )  # fmt: skip
        ax.text(x, y, state, ha="center", va="center", fontsize=9, zorder=4)
    for edge in drawn:
        colour = "blue" if (edge.source, edge.dest) in taken else "black"
        if edge.source == edge.dest:
            x, y = pos[edge.source]
            ax.text(x + NODE_W / 2 + 8, y, "\u21bb " + _wrap(edge.labels), ha="left", va="center",
                    fontsize=7, color=colour, zorder=4)  # fmt: skip
            continue
        points = list(routes[(edge.source, edge.dest)])
        if distance(points[-1], pos[edge.source]) < distance(points[0], pos[edge.source]):
            points.reverse()  # edges laid out upside down (the way back up) come reversed
        back = STATES.index(edge.dest) < STATES.index(edge.source)
        if (edge.dest, edge.source) in routes:  # the way there and the way back run side by side
            (x0, y0), (x1, y1) = points[0], points[-1]
            norm = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1.0)
            shift = 9  # to the right of each direction of travel, so the two lines part
            points = [(x + shift * (y1 - y0) / norm, y - shift * (x1 - x0) / norm) for x, y in points]
        points[0] = to_border(points[0], points[1])
        points[-1] = to_border(points[-1], points[-2])
        ax.add_patch(
            FancyArrowPatch(path=MplPath(points), arrowstyle="-|>", mutation_scale=10, color=colour,
                            linewidth=1.3 if colour == "blue" else 0.8, shrinkA=0, shrinkB=0, zorder=2)
        )  # fmt: skip
        text = _wrap(edge.labels)
        lx, ly = _place(text, points, back, placed)
        ax.text(lx, ly, text, ha="center", va="center", fontsize=7, color=colour, zorder=5,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.5})  # fmt: skip
    if everywhere:
        notes = []
        for edge in all_edges:
            if edge.source == INITIAL:
                for trigger, text in zip(edge.triggers, edge.labels, strict=True):
                    if trigger in everywhere:
                        notes.append(f"{text} \u2192 {'stays' if edge.dest == edge.source else edge.dest}")
        ax.text((left + right) / 2, bottom - 22, f"From every state but {' and '.join(sorted(TERMINAL))}: "
                + "; ".join(notes), ha="center", va="center", fontsize=8.5, style="italic")  # fmt: skip
    return fig


def render(fmt: str, marking: Marking | None = None, title: str = TITLE) -> bytes:
    """The picture as SVG (text kept as text, so it is searchable) or PNG bytes."""
    fig = draw(marking, title)
    out = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "pathway"}):
        fig.savefig(out, format=fmt, dpi=110, metadata={"Date": None} if fmt == "svg" else {"Software": None})
    plt.close(fig)
    return out.getvalue()
