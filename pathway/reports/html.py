"""The quality report as one self-contained HTML page, its charts as SVG images.

Charts are drawn with matplotlib's non-interactive Agg/SVG back end (no display
needed), text as paths, so the page needs no fonts, scripts or files. Each chart is an
``<img>`` whose source is a ``data:`` URI: a standalone SVG document keeps its own ids
and metadata to itself, so four charts on one page cannot clash (the page passes the
Nu HTML checker), and nothing is fetched.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator, PercentFormatter  # noqa: E402

from pathway.reports.render import (  # noqa: E402
    TITLES, TREND_TITLES, label, period_text, rows, shown, threshold_text, trend_table, words,
)  # fmt: skip

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { padding: .2rem .8rem; border-bottom: 1px solid #ddd; }
td.v { text-align: right; font-variant-numeric: tabular-nums; } figure { margin: 1rem 0; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; } img { max-width: 100%; height: auto; }
"""


def _img(fig: Figure, alt: str) -> str:
    """The chart as an ``<img>`` holding a standalone SVG document (no metadata: nothing to date it)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata=dict.fromkeys(("Date", "Creator", "Format",
                                                                                 "Type")))
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/svg+xml;base64,{data}">'


def _counts(axis: Any) -> None:
    """A count axis: whole-number ticks only (no 0.25 episodes)."""
    axis.set_major_locator(MaxNLocator(integer=True))


def _empty(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} in this period", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _bars(counts: dict[str, int], *, title: str, unit: str, missing: str, color: str) -> str:
    """Horizontal bars, first category on top, or a note when there is nothing to draw."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if counts:
        names = [words(k).capitalize() for k in counts]
        ax.barh(names, list(counts.values()), color=color)
        ax.invert_yaxis()
        ax.set_xlabel(unit)
        _counts(ax.xaxis)
    else:
        _empty(ax, missing)
    ax.set_title(title)
    alt = f"{title}: " + ("; ".join(f"{n}: {v}" for n, v in zip(map(words, counts), counts.values(), strict=True))
                          if counts else f"no {missing}")  # fmt: skip
    return _img(fig, alt)


def states_chart(report: dict[str, Any]) -> str:
    states = {k: v for k, v in report["episodes_opened"]["by_current_state"].items() if v}
    return _bars(states, title="Current state of the episodes opened", unit="episodes", missing="episodes",
                 color="#4a7ab5")  # fmt: skip


def reassessment_chart(report: dict[str, Any]) -> str:
    series = report["series"]["reassessment_days"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    windows: dict[tuple[int, int], list[int]] = {}
    for s in series:
        windows.setdefault((s["opens"], s["closes"]), []).append(s["rules_version"])
    colours = ("#8fc98f", "#e0b34f", "#b58fd1", "#7fc4c9")
    if series:
        for i, ((opens, closes), versions) in enumerate(sorted(windows.items())):
            names = ", ".join(f"v{v}" for v in sorted(set(versions)))
            ax.axvspan(opens, closes, color=colours[i % len(colours)], alpha=0.35,
                       label=f"rules {names}: window {opens}-{closes} days")  # fmt: skip
        days = [s["days"] for s in series]
        ax.hist(days, bins=min(30, max(5, len(set(days)))), color="#4a7ab5")
        ax.set_xlabel("days from the reassessment anchor to the first reassessment")
        ax.set_ylabel("reassessments")
        _counts(ax.yaxis)
        ax.legend(loc="upper right", fontsize="small")
    else:
        _empty(ax, "reassessments")
    ax.set_title("Days to the first reassessment")
    shading = "; ".join(f"rules {', '.join(f'v{v}' for v in sorted(set(vs)))}: window {o}-{c} days"
                        for (o, c), vs in sorted(windows.items()))  # fmt: skip
    return _img(fig, f"Days to the first reassessment of {len(series)} episodes" + (f" ({shading})" if shading else ""))


def outcomes_chart(report: dict[str, Any]) -> str:
    pairs = report["series"]["outcome_pairs"]
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.6))
    for ax, (measure, label) in zip(axes, (("pain", "pain (0-10)"), ("mhhs", "mHHS (0-100)")), strict=True):
        data = pairs[measure]
        if not data:
            _empty(ax, f"{measure} pairs")
            continue
        alpha = max(0.01, min(0.3, 20 / len(data)))  # many patients: fainter lines, the boxes carry the shape
        for baseline, final in data[:2000]:
            ax.plot([0, 1], [baseline, final], color="#4a7ab5", alpha=alpha, marker="o", markersize=3)
        ax.boxplot([[b for b, _ in data], [f for _, f in data]], positions=[0, 1], widths=0.3)
        ax.set_xticks([0, 1], ["start of\nconservative care", "discharge"])
        ax.set_ylabel(label)
    fig.suptitle("Pain and mHHS: baseline and discharge")
    return _img(fig, f"Pain and mHHS at the start of conservative care and at discharge, "
                     f"{len(pairs['pain'])} and {len(pairs['mhhs'])} patients")  # fmt: skip


def overrides_chart(report: dict[str, Any]) -> str:
    return _bars(report["overrides_by_guard"]["by_guard"], title="Overrides by guard",
                 unit="overridden guard verdicts", missing="overrides", color="#c0504d")  # fmt: skip


def trend_chart(report: dict[str, Any]) -> str:
    """The main adherence shares per month or quarter (a period without events leaves a gap)."""
    periods = report["trend"]["periods"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    if periods:
        x = list(range(len(periods)))
        for figure, title in TREND_TITLES.items():
            shares = [p[figure]["share"] for p in periods]
            ax.plot(x, [float("nan") if v is None else v * 100 for v in shares], marker="o", label=title)
        step = max(1, len(periods) // 12)
        ax.set_xticks(x[::step], [p["period"] for p in periods][::step], rotation=45, ha="right")
        ax.set_ylim(-5, 105)
        ax.yaxis.set_major_formatter(PercentFormatter())
        ax.legend(loc="center left", bbox_to_anchor=(1, 0.5), fontsize="small")
    else:
        _empty(ax, "events")
    ax.set_title(f"Adherence by {report['trend']['by']}")
    return _img(fig, f"Adherence figures by {report['trend']['by']}; the table below gives each value")


def _trend_table(report: dict[str, Any]) -> str:
    columns, lines = trend_table(report)
    head = "".join(f"<th scope='col'>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in line) + "</tr>" for line in lines)
    return f"<h2>Trend by {html.escape(report['trend']['by'])}</h2><table><tr>{head}</tr>{body}</table>"


def _tables(report: dict[str, Any]) -> str:
    parts, section = [], None
    for sec, name, value in rows(report):
        if sec != section:
            if section is not None:
                parts.append("</table>")
            parts.append(f"<h2>{html.escape(TITLES[sec])}</h2><table>")
            section = sec
        parts.append(f"<tr><td>{html.escape(label(name))}</td>"
                     f"<td class='v'>{html.escape(shown(name, value))}</td></tr>")  # fmt: skip
    parts.append("</table>")
    return "\n".join(parts)


def as_html(report: dict[str, Any]) -> str:
    charts = "".join(
        f"<figure>{draw(report)}</figure>"
        for draw in (states_chart, reassessment_chart, outcomes_chart, overrides_chart, trend_chart)
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<title>pathway: quality review</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>Ischiofemoral impingement pathway: quality review</h1>"
        f"<p>{html.escape(period_text(report))}</p><p>{html.escape(threshold_text(report))}</p>"
        f"<div class='charts'>{charts}</div>{_tables(report)}{_trend_table(report)}</body></html>\n"
    )
