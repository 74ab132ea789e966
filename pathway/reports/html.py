"""The quality report as one self-contained HTML page with its charts as inline SVG.

Charts are drawn with matplotlib's non-interactive Agg/SVG back end (no display
needed); text is drawn as paths, so the page needs no fonts, scripts or files.
"""

from __future__ import annotations

import html
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pathway.reports.render import TITLES, period_text, rows, shown, threshold_text  # noqa: E402

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { padding: .2rem .8rem; border-bottom: 1px solid #ddd; }
td.v { text-align: right; font-variant-numeric: tabular-nums; } figure { margin: 1rem 0; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; } svg { max-width: 100%; height: auto; }
"""


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _empty(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} in this period", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _bars(counts: dict[str, int], *, title: str, unit: str, missing: str, color: str) -> str:
    """Horizontal bars, first category on top, or a note when there is nothing to draw."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if counts:
        ax.barh(list(counts), list(counts.values()), color=color)
        ax.invert_yaxis()
        ax.set_xlabel(unit)
    else:
        _empty(ax, missing)
    ax.set_title(title)
    return _svg(fig)


def states_chart(report: dict[str, Any]) -> str:
    states = {k: v for k, v in report["episodes_opened"]["by_current_state"].items() if v}
    return _bars(states, title="Current state of the episodes opened", unit="episodes", missing="episodes",
                 color="#4a7ab5")  # fmt: skip


def reassessment_chart(report: dict[str, Any]) -> str:
    series = report["series"]["reassessment_days"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if series:
        for opens, closes in sorted({(s["opens"], s["closes"]) for s in series}):
            ax.axvspan(opens, closes, color="#8fc98f", alpha=0.35, label=f"window {opens}-{closes} days")
        days = [s["days"] for s in series]
        ax.hist(days, bins=min(30, max(5, len(set(days)))), color="#4a7ab5")
        ax.set_xlabel("days from the reassessment anchor to the first reassessment")
        ax.set_ylabel("reassessments")
        ax.legend(loc="upper right", fontsize="small")
    else:
        _empty(ax, "reassessments")
    ax.set_title("Days to the first reassessment")
    return _svg(fig)


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
    return _svg(fig)


def overrides_chart(report: dict[str, Any]) -> str:
    return _bars(report["overrides_by_guard"]["by_guard"], title="Overrides by guard",
                 unit="overridden guard verdicts", missing="overrides", color="#c0504d")  # fmt: skip


def _tables(report: dict[str, Any]) -> str:
    parts, section = [], None
    for sec, name, value in rows(report):
        if sec != section:
            if section is not None:
                parts.append("</table>")
            parts.append(f"<h2>{html.escape(TITLES[sec])}</h2><table>")
            section = sec
        parts.append(f"<tr><td>{html.escape(name.replace('_', ' '))}</td>"
                     f"<td class='v'>{html.escape(shown(name, value))}</td></tr>")  # fmt: skip
    parts.append("</table>")
    return "\n".join(parts)


def as_html(report: dict[str, Any]) -> str:
    charts = "".join(
        f"<figure>{draw(report)}</figure>"
        for draw in (states_chart, reassessment_chart, outcomes_chart, overrides_chart)
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<title>pathway: quality review</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>Ischiofemoral impingement pathway: quality review</h1>"
        f"<p>{html.escape(period_text(report))}</p><p>{html.escape(threshold_text(report))}</p>"
        f"<div class='charts'>{charts}</div>{_tables(report)}</body></html>\n"
    )
