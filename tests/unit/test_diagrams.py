"""Diagrams: drawn from the engine's definition, holding every state, trigger and guard of PATHWAY.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from pathway.diagrams import choose_format, render
from pathway.diagrams.graph import Marking, dot, mermaid, steps_of
from pathway.diagrams.picture import draw
from pathway.errors import InvalidInput
from tests.pathway_spec import STATES, TRANSITIONS

DIAGRAM_PAGE = Path(__file__).parents[2] / "docs" / "guides" / "clinicians.md"

# PATHWAY.md's guards, by trigger, as named on the machine's edges.
GUARDS = {
    "order_mri": ["radiographs_first"],
    "confirm_diagnosis": ["mri_supports_ifi"],
    "inject": [
        "injection_guidance_allowed",
        "repeat_injection_after_temporary_relief",
        "injection_min_interval_days",
        "injection_max_per_365_days",
    ],
    "reassess": ["reassessment_window_open_days"],
    "refer_to_surgery": [
        "conservative_min_days",
        "latest_reassessment_persistent",
        "surgery_requires_injection",
        "surgery_requires_positive_diagnostic_injection",
    ],
    "record_surgery": ["open_includes_neurolysis"],
}
EPISODE = Marking(
    "conservative_care",
    steps_of([(None, "referred"), ("referred", "radiographs_ordered"), ("radiographs_ordered", "radiographs_reported"),
              ("radiographs_reported", "diagnosed"), ("diagnosed", "conservative_care"),
              ("conservative_care", "conservative_care")]),
)  # fmt: skip


def mermaid_edges(text: str) -> dict[tuple[str, str], str]:
    found = {}
    for line in text.splitlines():
        match = re.fullmatch(r"\s*(\w+) --> (\w+): (.+)", line)
        if match:
            found[(match[1], match[2])] = match[3]
    return found


def test_mermaid_has_every_state_and_every_edge_of_the_specification_with_its_guards() -> None:
    text = mermaid()
    assert text.startswith("---\ntitle: IFI care pathway\n---\nstateDiagram-v2\n")
    for state in STATES:
        assert f'state "{state}" as {state}' in text
    assert "[*] --> referred" in text
    edges = mermaid_edges(text)
    for trigger, moves in TRANSITIONS.items():
        for source, dest in moves.items():
            label = edges[(source, source if dest == "=" else dest)]
            assert re.search(rf"(^| \| ){trigger}( \[|$| \|)", label), (trigger, source, label)
    labels = " | ".join(edges.values())
    for trigger, guards in GUARDS.items():
        assert re.search(rf"{trigger} \[[^]]*{' & '.join(guards)}", labels), trigger
    # reassess ends the episode only when the outcome is resolved
    assert "reassess [outcome_resolved & reassessment_window_open_days]" in edges[("conservative_care", "discharged")]
    assert (
        "reassess [reassessment_window_open_days & !outcome_resolved]"
        in edges[("conservative_care", "conservative_care")]
    )


def test_dot_has_every_state_trigger_and_guard() -> None:
    text = dot()
    assert text.startswith('digraph "IFI care pathway" {')
    for state in STATES:
        assert f"\t{state} [" in text
    for trigger in TRANSITIONS:
        assert trigger in text
    for guards in GUARDS.values():
        assert " & ".join(guards) in text


def test_an_episode_diagram_marks_its_state_and_path() -> None:
    text = mermaid(EPISODE, "Episode 7 (conservative_care)")
    assert "title: Episode 7 (conservative_care)" in text
    assert "Class conservative_care s_active" in text
    for state in ("referred", "radiographs_ordered", "radiographs_reported", "diagnosed"):
        assert f"Class {state} s_previous" in text
    assert "Class mri_ordered s_default" in text and "Class injection_done s_default" in text
    graph = dot(EPISODE)
    assert 'radiographs_reported -> diagnosed [label="confirm_diagnosis [mri_supports_ifi]" color=blue]' in graph
    assert re.search(r"\tconservative_care \[[^]]*color=red", graph)
    assert "mri_ordered -> mri_reported [label=record_mri]" in graph


def _figure_texts(marking: Marking | None = None) -> str:
    figure = draw(marking)
    return "\n".join(t.get_text() for ax in figure.axes for t in ax.texts)


def test_the_picture_shows_every_state_trigger_and_guard() -> None:
    texts = _figure_texts()
    words = set(re.findall(r"\w+", texts))
    assert set(STATES) <= words
    assert set(TRANSITIONS) <= words
    assert {g for guards in GUARDS.values() for g in guards} <= words
    assert "From every state but closed and discharged: close → closed; amend → stays" in texts


def test_svg_keeps_its_text_searchable_and_png_is_an_image() -> None:
    svg = render("svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for name in (*STATES, *TRANSITIONS, "radiographs_first", "surgery_requires_positive_diagnostic_injection"):
        assert name in svg, name
    png = render("png", EPISODE, "Episode 7")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000


def test_format_follows_the_option_then_the_file_name() -> None:
    assert choose_format(None, None) == "mermaid"
    assert choose_format(None, Path("p.SVG")) == "svg"
    assert choose_format("dot", Path("p.svg")) == "dot"
    with pytest.raises(InvalidInput, match="needs a file"):
        choose_format("png", None)
    with pytest.raises(InvalidInput, match="Cannot tell the format"):
        choose_format(None, Path("p.txt"))


def test_the_clinicians_guide_shows_exactly_what_pathway_diagram_prints() -> None:
    printed = CliRunner().invoke(cli, ["diagram", "--format", "mermaid"])
    assert printed.exit_code == 0
    blocks = re.findall(r"```mermaid\n(.*?)```", DIAGRAM_PAGE.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks == [printed.stdout]


def test_diagram_command_writes_files_and_refuses_png_to_a_terminal(tmp_path: Path) -> None:
    runner = CliRunner()
    svg = tmp_path / "pathway.svg"
    done = runner.invoke(cli, ["diagram", "--out", str(svg), "--json"])
    assert done.exit_code == 0 and '"format": "svg"' in done.stdout
    assert "record_injection_response" in svg.read_text(encoding="utf-8")
    refused = runner.invoke(cli, ["diagram", "--format", "png"])
    assert refused.exit_code == 2 and "--out" in refused.stderr
    nowhere = runner.invoke(cli, ["diagram", "--out", str(tmp_path / "missing" / "p.png")])
    assert nowhere.exit_code == 2 and "does not exist" in nowhere.stderr and "Traceback" not in nowhere.output
    assert runner.invoke(cli, ["diagram", "--format", "dot"]).stdout.startswith("digraph")
