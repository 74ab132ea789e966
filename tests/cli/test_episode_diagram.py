"""`pathway episode show ID --diagram`: the episode's state and path on the pathway."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Pathway


def test_episode_diagram_marks_the_current_state_and_the_path_taken(pathway: Pathway, tmp_path: Path) -> None:
    eid = pathway.open("MRN-1", "left", "2026-01-05")
    pathway.advance(eid, "order_radiographs", "2026-01-06")
    pathway.advance(eid, "record_radiographs", "2026-01-07", "result=negative")
    pathway.advance(eid, "order_mri", "2026-01-08")
    text = pathway.ok("episode", "show", str(eid), "--diagram").stdout
    assert f"title: Episode {eid} (mri_ordered)" in text
    assert "Class mri_ordered s_active" in text
    for state in ("referred", "radiographs_ordered", "radiographs_reported"):
        assert f"Class {state} s_previous" in text
    assert "Class diagnosed s_default" in text
    data = pathway.json("episode", "show", str(eid), "--diagram", "--format", "dot")
    assert data["state"] == "mri_ordered" and data["format"] == "dot"
    assert data["steps"] == [["referred", "radiographs_ordered"], ["radiographs_ordered", "radiographs_reported"],
                             ["radiographs_reported", "mri_ordered"]]  # fmt: skip
    assert 'radiographs_reported -> mri_ordered [label="order_mri [radiographs_first]" color=blue]' in data["diagram"]
    picture = tmp_path / "episode.png"
    assert pathway.ok("episode", "show", str(eid), "--diagram", "--out", str(picture)).exit_code == 0
    assert picture.read_bytes().startswith(b"\x89PNG")
    # Without --diagram, show is unchanged; the diagram options alone are a mistake.
    assert pathway.json("episode", "show", str(eid))["state"] == "mri_ordered"
    alone = pathway("episode", "show", str(eid), "--format", "svg")
    assert alone.exit_code == 2 and "--diagram" in alone.stderr
    missing = pathway("episode", "show", "99", "--diagram")
    assert missing.exit_code == 3
