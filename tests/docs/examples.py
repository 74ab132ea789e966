"""The documentation's terminal examples, parsed and run as a user would type them.

A page's ```` ```console ```` blocks hold ``$ pathway …`` commands, each followed by what
it prints (stdout and stderr, as a terminal shows them). A command that is meant to fail
ends with ``# exit N``. In expected output a line ``...`` stands for any number of lines
and ``…`` inside a line for any text, so pages may elide what varies (hashes, paths).

Each page runs top to bottom on its own fresh SQLite database, in a scratch folder holding
a copy of the repository's ``examples/`` (so ``examples/caseload.csv`` resolves), in time zone
UTC, with the clock frozen at the page's ``<!-- examples: today YYYY-MM-DD -->`` (default
below), so dated walk-throughs print the same on any day. ``python -m tests.docs.examples
--update FILE`` rewrites a page's expected output from what the commands print now.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner
from freezegun import freeze_time

from cli import cli

ROOT = Path(__file__).resolve().parents[2]
TODAY = "2026-07-01"
BLOCK = re.compile(r"^```console\n(.*?)^```", re.S | re.M)
TODAY_MARK = re.compile(r"<!-- examples: today (\d{4}-\d{2}-\d{2}) -->")
EXIT = re.compile(r"\s+# exit (\d+)$")
PAGES = ("README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md")))


@dataclass
class Example:
    command: str
    args: list[str]
    exit_code: int
    expected: list[str] = field(default_factory=list)


def examples(text: str) -> Iterator[Example]:
    for block in BLOCK.finditer(text):
        current: Example | None = None
        for line in block.group(1).splitlines():
            if line.startswith("$ "):
                if current:
                    yield current
                command = line[2:]
                code = EXIT.search(command)
                command = EXIT.sub("", command)
                words = shlex.split(command)
                if not words or words[0] != "pathway":
                    raise ValueError(f"a console example must run pathway: {line!r}")
                current = Example(command, words[1:], int(code.group(1)) if code else 0)
            elif current is None:
                raise ValueError(f"output before any command in a console block: {line!r}")
            else:
                current.expected.append(line)
        if current:
            yield current


def matches(expected: list[str], actual: list[str]) -> bool:
    """``...`` lines match any run of lines; ``…`` inside a line matches any text."""

    def line_matches(pattern: str, line: str) -> bool:
        return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("…")), line) is not None

    def walk(i: int, j: int) -> bool:
        if i == len(expected):
            return j == len(actual)
        if expected[i] == "...":
            return any(walk(i + 1, k) for k in range(j, len(actual) + 1))
        return j < len(actual) and line_matches(expected[i], actual[j]) and walk(i + 1, j + 1)

    return walk(0, 0)


@dataclass
class Outcome:
    example: Example
    exit_code: int
    output: list[str]

    @property
    def ok(self) -> bool:
        return self.exit_code == self.example.exit_code and matches(self.example.expected, self.output)


def run_page(path: Path) -> list[Outcome]:
    """Every example of the page, in order, on one fresh database."""
    text = path.read_text(encoding="utf-8")
    found = list(examples(text))
    if not found:
        return []
    mark = TODAY_MARK.search(text)
    today = mark.group(1) if mark else TODAY
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "examples", Path(tmp) / "examples")
        env = {
            "PATHWAY_DATABASE_URL": str(Path(tmp) / "clinic.sqlite3"),
            "PATHWAY_TIMEZONE": "UTC",
            "PATHWAY_USER": "kim",
            "PATHWAY_PSEUDONYM_KEY": "documentation-examples-pseudonym-key-0123456789abcdef",
            "PATHWAY_SIGNING_KEY_FILE": "signing.pem",  # in the scratch folder
            "COLUMNS": "80",
        }
        runner = CliRunner(env=env)
        before = os.getcwd()
        os.chdir(tmp)
        try:
            outcomes = _run(runner, found, today)
        finally:
            os.chdir(before)
    return outcomes


def _run(runner: CliRunner, found: list[Example], today: str) -> list[Outcome]:
    outcomes = []
    with freeze_time(f"{today}T09:00:00+00:00"):
        setup = runner.invoke(cli, ["db", "upgrade"], catch_exceptions=False)
        assert setup.exit_code == 0, setup.output
        for example in found:
            result = runner.invoke(cli, example.args, catch_exceptions=False)
            outcomes.append(Outcome(example, result.exit_code, result.output.rstrip("\n").splitlines()))
    return outcomes


def update(path: Path) -> None:
    """Rewrite each example's expected output with what it prints now (keeps ``# exit``)."""
    found = run_page(path)
    crashed = [o.example.command for o in found if o.exit_code == 70]
    if crashed:  # an internal error is a bug to fix, never an expected output
        sys.exit(f"not updated: internal error (exit 70) in: {'; '.join(crashed)}")
    outcomes = iter(found)

    def block(match: re.Match[str]) -> str:
        lines = []
        for line in match.group(1).splitlines():
            if line.startswith("$ "):
                outcome = next(outcomes)
                code = outcome.exit_code
                lines.append(f"$ {outcome.example.command}" + (f"  # exit {code}" if code else ""))
                lines += outcome.output
        return "```console\n" + "\n".join(lines) + "\n```"

    path.write_text(BLOCK.sub(block, path.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--update":
        sys.exit("usage: python -m tests.docs.examples --update FILE")
    update(Path(sys.argv[2]))
