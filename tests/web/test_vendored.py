"""Vendored front-end files are exactly the npm releases their READMEs name (checksums compared)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = [ROOT / "pathway" / "web" / "static" / "vendor", ROOT / "tests" / "web" / "browser" / "vendor"]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.parent.name)
def test_each_vendored_file_matches_the_checksum_its_readme_records(folder: Path) -> None:
    rows = re.findall(r"^\| `([^`]+)`.*\| `([0-9a-f]{64})` \|$", (folder / "README.md").read_text(), re.M)
    assert rows, "the README lists no vendored file"
    for name, digest in rows:
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
        assert (folder / f"{name.split('.')[0]}.LICENSE").exists()
