"""--out never replaces what is not a regular file: every command that writes files.

A character device or a pipe is written through (as a shell redirection would), a
symbolic link, a socket or a block device is refused with exit 2 and left as it was,
and a regular file keeps its atomic replace. The device nodes and pipes are made here,
in the test's own folder (``mknod``, ``mkfifo``): the machine's /dev is never touched.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Pathway

NULL_DEVICE = os.makedev(1, 3)  # the numbers of /dev/null, as a node of our own

# name: the arguments that write to OUT (replaced by the path); every one of them writes a file.
WRITERS: dict[str, list[str]] = {
    "export csv": ["audit", "export", "--format", "csv", "--out", "OUT"],
    "export jsonl": ["audit", "export", "--format", "jsonl", "--identified", "--out", "OUT"],
    "report": ["report", "quality", "--format", "html", "--out", "OUT"],
    "diagram": ["diagram", "--format", "dot", "--out", "OUT"],
    "episode diagram": ["episode", "show", "1", "--diagram", "--format", "mermaid", "--out", "OUT"],
    "import template": ["import", "template", "--format", "csv", "--out", "OUT"],
    "rules export": ["rules", "export", "1", "--out", "OUT"],
    "db backup": ["db", "backup", "OUT"],
    "db backup --force": ["db", "backup", "OUT", "--force"],
}


@pytest.fixture
def writing(pathway: Pathway) -> Callable[[str, Path], object]:
    pathway.open("MRN-1", "left", "2026-01-05")

    def run(name: str, out: Path) -> object:
        return pathway(*[str(out) if a == "OUT" else a for a in WRITERS[name]])

    return run


@pytest.fixture
def device(tmp_path: Path) -> Path:
    node = tmp_path / "null"
    os.mknod(node, 0o666 | stat.S_IFCHR, NULL_DEVICE)
    return node


@pytest.mark.parametrize("name", WRITERS)
def test_a_character_device_is_written_through_not_replaced(writing, device: Path, name: str) -> None:
    result = writing(name, device)
    assert result.exit_code == 0, result.output
    info = os.lstat(device)
    assert stat.S_ISCHR(info.st_mode) and info.st_rdev == NULL_DEVICE  # still the device, not a file renamed over it
    assert not [p for p in os.listdir(device.parent) if p.startswith(".null")]  # nothing left beside it


class Reader:
    """Reads a FIFO in a thread, as `cat pipe` would, while the command writes into it."""

    def __init__(self, fifo: Path) -> None:
        self.fifo, self.data = fifo, b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with open(self.fifo, "rb") as pipe:
            self.data = pipe.read()

    def join(self) -> bytes:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()
        return self.data


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    yield path


@pytest.mark.parametrize("name", WRITERS)
def test_a_fifo_is_written_through_and_the_reader_gets_everything(writing, fifo: Path, tmp_path: Path,
                                                                 name: str) -> None:  # fmt: skip
    reader = Reader(fifo)
    result = writing(name, fifo)
    assert result.exit_code == 0, result.output
    data = reader.join()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    regular = tmp_path / "regular"
    assert writing(name, regular).exit_code == 0
    if name.startswith("db backup"):
        assert len(data) > 1000  # a database or a dump, not nothing
    elif name.startswith(("export", "report")):  # these say when they were made
        assert data.splitlines()[0] == regular.read_bytes().splitlines()[0]  # the same heading
    else:
        assert data == regular.read_bytes()


@pytest.mark.parametrize("name", WRITERS)
def test_a_symbolic_link_is_refused_and_what_it_points_to_is_untouched(writing, tmp_path: Path, name: str) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    link = tmp_path / "out.link"
    link.symlink_to(precious)
    result = writing(name, link)
    assert result.exit_code == 2, result.output
    assert "symbolic link" in result.stderr and "Traceback" not in result.output
    assert link.is_symlink() and precious.read_text() == "keep me"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    assert writing(name, dangling).exit_code == 2
    assert dangling.is_symlink() and not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("name", ["export csv", "report", "db backup --force"])
def test_a_socket_or_block_device_is_refused(writing, tmp_path: Path, name: str) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock"))
    block = tmp_path / "block"
    os.mknod(block, 0o600 | stat.S_IFBLK, os.makedev(7, 0))
    try:
        for path, kind in ((tmp_path / "sock", "socket"), (block, "block device")):
            result = writing(name, path)
            assert result.exit_code == 2, result.output
            assert kind in result.stderr
        assert stat.S_ISSOCK(os.lstat(tmp_path / "sock").st_mode) and stat.S_ISBLK(os.lstat(block).st_mode)
    finally:
        server.close()


@pytest.mark.parametrize("name", ["export csv", "rules export", "db backup --force"])
def test_a_regular_file_is_still_replaced_whole(writing, tmp_path: Path, name: str) -> None:
    out = tmp_path / "earlier"
    out.write_bytes(b"an earlier copy")
    before = os.stat(out).st_ino
    assert writing(name, out).exit_code == 0
    assert os.stat(out).st_ino != before and out.read_bytes() != b"an earlier copy"  # a new file, renamed into place


def test_a_fhir_export_folder_that_is_a_link_is_refused(pathway: Pathway, tmp_path: Path) -> None:
    pathway.open("MRN-1", "left", "2026-01-05")
    real = tmp_path / "real"
    real.mkdir()
    (real / "notes.txt").write_text("not an export")
    link = tmp_path / "fhir"
    link.symlink_to(real)
    result = pathway("audit", "export", "--format", "fhir", "--out", str(link))
    assert result.exit_code == 2 and "symbolic link" in result.stderr
    assert link.is_symlink() and os.listdir(real) == ["notes.txt"]


def test_out_dev_stdout_prints_into_the_open_standard_output(tmp_path: Path) -> None:
    """/dev/stdout is recognised by name and written to descriptor 1: the real /dev is never opened."""
    database = tmp_path / "p.sqlite3"
    command = [sys.executable, "-m", "cli", "--db", str(database)]
    env = {**os.environ, "PATHWAY_USER": "tester"}
    subprocess.run([*command, "db", "upgrade"], check=True, capture_output=True, env=env, cwd=Path(__file__).parents[2])
    done = subprocess.run([*command, "diagram", "--format", "dot", "--out", "/dev/stdout"], capture_output=True,
                          env=env, cwd=Path(__file__).parents[2])  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"digraph")
