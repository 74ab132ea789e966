"""Where each state and edge of the pathway goes: a Sugiyama layout (grandalf), computed once.

Shared by the matplotlib picture (``picture.py``) and the inline SVG of the web pages
(``inline.py``), so both draw the same map; neither needs Graphviz.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

from grandalf.graphs import Edge as GEdge
from grandalf.graphs import Graph, Vertex
from grandalf.layouts import SugiyamaLayout

from pathway.diagrams.graph import Edge, edges
from pathway.domain.states import INITIAL, NON_TERMINAL, STATES

NODE_W, NODE_H = 150.0, 30.0  # layout units are points: 72 to the inch
Routes = dict[tuple[str, str], list[tuple[float, float]]]


class _Box:
    """What grandalf lays out for a state: its size, then its centre."""

    def __init__(self) -> None:
        self.w, self.h = NODE_W, NODE_H
        self.xy: tuple[float, float] = (0.0, 0.0)


class _Route:
    """What grandalf routes for an edge: the points of its polyline."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def setpath(self, points: list[tuple[float, float]]) -> None:
        self.points = [(x, y) for x, y in points]


def everywhere_triggers(all_edges: list[Edge]) -> set[str]:
    """Triggers that leave every non-terminal state."""
    sources: dict[str, set[str]] = defaultdict(set)
    for edge in all_edges:
        for trigger in edge.triggers:
            sources[trigger].add(edge.source)
    return {trigger for trigger, states in sources.items() if states >= set(NON_TERMINAL)}


def _layout(drawn: list[Edge]) -> tuple[dict[str, tuple[float, float]], Routes]:
    """Sugiyama layout (layers, crossing reduction, routed edges); states without edges go at the bottom."""
    vertices = {state: Vertex(state) for state in STATES}
    for vertex in vertices.values():
        vertex.view = _Box()
    links = {}
    for edge in drawn:
        link = GEdge(vertices[edge.source], vertices[edge.dest])
        link.view = _Route()
        links[(edge.source, edge.dest)] = link
    graph = Graph(list(vertices.values()), list(links.values()))
    main = next(c for c in graph.C if vertices[INITIAL] in c.sV)
    layout = SugiyamaLayout(main)
    layout.xspace, layout.yspace = 70, 135
    layout.init_all(roots=[vertices[INITIAL]])
    layout.draw(3)
    pos = {state: v.view.xy for state, v in vertices.items() if v in main.sV}
    bottom = max(y for _, y in pos.values())
    right = max(x for x, _ in pos.values())
    for state in (s for s in STATES if s not in pos):
        right += NODE_W + 70
        pos[state] = (right, bottom)
    return pos, {key: link.view.points for key, link in links.items()}


def to_border(centre: tuple[float, float], toward: tuple[float, float]) -> tuple[float, float]:
    """Where the line from a box's centre toward a point leaves the box."""
    (x0, y0), (x1, y1) = centre, toward
    dx, dy = x1 - x0, y1 - y0
    if dx == dy == 0:
        return centre
    scale = min((NODE_W / 2 + 4) / abs(dx) if dx else float("inf"), (NODE_H / 2 + 4) / abs(dy) if dy else float("inf"))
    return (x0 + dx * scale, y0 + dy * scale)


def distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return ((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5




def drawn_edges(all_edges: list[Edge]) -> list[Edge]:
    """The edges a picture draws: triggers possible from every open state are left for a footnote."""
    everywhere = everywhere_triggers(all_edges)
    drawn = []
    for edge in all_edges:
        kept = [(t, text) for t, text in zip(edge.triggers, edge.labels, strict=True) if t not in everywhere]
        if kept:
            drawn.append(Edge(edge.source, edge.dest, tuple(k[1] for k in kept), tuple(k[0] for k in kept)))
    return drawn


@cache
def laid_out() -> tuple[dict[str, tuple[float, float]], Routes]:
    """State centres and edge routes (the layout is the same for every picture: computed once)."""
    return _layout([e for e in drawn_edges(edges()) if e.source != e.dest])
