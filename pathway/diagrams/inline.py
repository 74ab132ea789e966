"""The pathway as a small inline SVG for the episode page: where the episode is and the way it came.

Drawn from the shared layout (``layout.py``), without matplotlib, so a page pays
microseconds, not a figure's render. Marks are classes (``current``, ``visited``,
``taken``) that the page's stylesheet draws; the current state is also outlined thickly
and labelled in words, so colour is never the only sign. The SVG is decorative beside a
text account of the path, which the page gives; here it carries its own title.
"""

from __future__ import annotations

from functools import cache
from html import escape

from pathway.diagrams.graph import Marking
from pathway.diagrams.layout import NODE_H, NODE_W, distance, laid_out, to_border

PAD = 12.0
SQUEEZE = 0.5  # the shared layout leaves room between layers for edge labels, which this map leaves out


@cache
def _laid_out() -> tuple[dict[str, tuple[float, float]], dict[tuple[str, str], list[tuple[float, float]]]]:
    pos, routes = laid_out()
    return ({s: (x, y * SQUEEZE) for s, (x, y) in pos.items()},
            {k: [(x, y * SQUEEZE) for x, y in points] for k, points in routes.items()})  # fmt: skip


@cache
def _frame() -> tuple[float, float, float, float]:
    pos, _ = _laid_out()
    xs, ys = [x for x, _ in pos.values()], [y for _, y in pos.values()]
    return min(xs) - NODE_W / 2 - PAD, min(ys) - NODE_H / 2 - PAD, max(xs) + NODE_W / 2 + PAD, max(ys) + NODE_H / 2 + PAD


def _path(source: str, dest: str) -> str:
    pos, routes = _laid_out()
    points = list(routes[(source, dest)])
    if distance(points[-1], pos[source]) < distance(points[0], pos[source]):
        points.reverse()
    if (dest, source) in routes:  # there and back side by side
        (x0, y0), (x1, y1) = points[0], points[-1]
        norm = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1.0)
        points = [(x + 7 * (y1 - y0) / norm, y - 7 * (x1 - x0) / norm) for x, y in points]
    points[0], points[-1] = to_border(points[0], points[1]), to_border(points[-1], points[-2])
    return "M" + " L".join(f"{x:.0f} {y:.0f}" for x, y in points)


def episode_svg(marking: Marking) -> str:
    """The SVG element (a string, already escaped) with ``marking`` drawn on it."""
    pos, routes = _laid_out()
    left, top, right, bottom = _frame()
    visited, taken = set(marking.visited), set(marking.steps)
    parts = [
        f'<svg class="pathway-map" viewBox="{left:.0f} {top:.0f} {right - left:.0f} {bottom - top:.0f}" '
        f'role="img" aria-labelledby="map-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="map-title">The pathway; this episode is at {escape(marking.current.replace("_", " "))}</title>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" '
        'orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z"/></marker></defs>',
    ]
    for source, dest in sorted(routes):
        kind = "edge taken" if (source, dest) in taken else "edge"
        parts.append(f'<path class="{kind}" d="{_path(source, dest)}" marker-end="url(#arrow)"/>')
    for state, (x, y) in pos.items():
        kind = "current" if state == marking.current else "visited" if state in visited else "ahead"
        label = state.replace("_", " ")
        parts.append(
            f'<g class="state {kind}"><rect x="{x - NODE_W / 2:.0f}" y="{y - NODE_H / 2:.0f}" width="{NODE_W:.0f}" '
            f'height="{NODE_H:.0f}" rx="6"/><text x="{x:.0f}" y="{y + 4:.0f}">'
            f'{"▶ " if kind == "current" else ""}{escape(label)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
