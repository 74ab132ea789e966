"""Output files: what a killed writer left beside its target is removed by the next write, nothing else."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pathway.files import AtomicDirectory, AtomicFile


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_the_next_write_removes_only_what_dead_writers_of_that_target_left(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getppid()
    (tmp_path / f".trail.csv.new-{dead}-0a1b2c3d").write_text("a finished file never renamed")
    (tmp_path / f".trail.csv.partial-{dead}-0a1b2c3e").write_text("half a file")
    (tmp_path / f".trail.csv.partial-{alive}-0a1b2c3f").write_text("another writer, still running")
    (tmp_path / f".other.csv.new-{dead}-0a1b2c3d").write_text("another target's")
    (tmp_path / ".trail.csv.notes").write_text("not ours")
    with AtomicFile(tmp_path / "trail.csv") as out:
        out.write(b"episode_id\n")
    assert sorted(os.listdir(tmp_path)) == [
        f".other.csv.new-{dead}-0a1b2c3d", ".trail.csv.notes", f".trail.csv.partial-{alive}-0a1b2c3f", "trail.csv",
    ]  # fmt: skip


def test_a_folder_export_replaces_the_earlier_one_and_removes_leftovers(tmp_path: Path) -> None:
    dead = _dead_pid()
    target = tmp_path / "fhir"
    target.mkdir()
    (target / "Old.ndjson").write_text("{}\n")
    left = tmp_path / f".fhir.partial-{dead}-00ff00ff"
    left.mkdir()
    (left / "EpisodeOfCare.ndjson").write_text("{}\n")
    with AtomicDirectory(target) as folder:
        folder.open("EpisodeOfCare.ndjson").write(b'{"resourceType": "EpisodeOfCare"}\n')
    assert sorted(os.listdir(tmp_path)) == ["fhir"]
    assert os.listdir(target) == ["EpisodeOfCare.ndjson"]
    assert (target / "EpisodeOfCare.ndjson").read_bytes() == b'{"resourceType": "EpisodeOfCare"}\n'
