"""The documentation site builds, covers every command, and its examples still hold."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from cli import cli
from pathway.spec_tables import TABLES
from tests.docs.examples import PAGES, ROOT, matches, run_page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    return out


def _text(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")))


def _commands(group: click.Group, ctx: click.Context, path: tuple[str, ...] = ()) -> list[tuple[str, click.Command]]:
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        found.append((" ".join((*path, name)), command))
        if isinstance(command, click.Group):
            found += _commands(command, ctx, (*path, name))
    return found


def test_the_site_builds_strictly_and_works_offline(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" not in index  # no web fonts from elsewhere
    loads = re.findall(r"""(?:src=|<link[^>]*href=)["'](https?://[^"']+)""", index)
    assert not loads, f"the site must not load anything from the network: {loads}"
    assert (site / "specification.html").exists() and (site / "reference" / "cli.html").exists()


def test_the_cli_reference_lists_every_command_and_option(site: Path) -> None:
    reference = _text(site / "reference" / "cli.html")
    ctx = click.Context(cli, info_name="pathway")
    missing = []
    for path, command in _commands(cli, ctx):
        if f"pathway {path}" not in reference:
            missing.append(f"pathway {path}")
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("-") and opt not in reference:
                    missing.append(f"pathway {path} {opt}")
    assert not missing, f"missing from the CLI reference: {missing}"


def test_the_specification_tables_are_the_engines(site: Path) -> None:
    page = _text(site / "specification.html")
    source = (ROOT / "docs" / "specification.md").read_text(encoding="utf-8")
    for name in TABLES:
        assert f"<!-- generated: {name} -->" in source, f"the specification page lost its {name} table"
    from pathway.domain.guards import radiographs_first
    from pathway.domain.rules import CATALOGUE
    from pathway.domain.triggers import TRIGGERS

    for word in (*TRIGGERS, *CATALOGUE, radiographs_first.__name__):
        assert word in page, f"{word} is not in the generated specification"


@pytest.mark.parametrize("page", [p for p in PAGES if "```console" in (ROOT / p).read_text(encoding="utf-8")])
def test_every_example_prints_what_the_page_says(page: str) -> None:
    failures = []
    for outcome in run_page(ROOT / page):
        if not outcome.ok:
            failures.append(
                f"$ {outcome.example.command}\n  exit {outcome.exit_code} (page says {outcome.example.exit_code})\n"
                + "\n".join("  | " + line for line in outcome.output)
            )
    assert not failures, (
        f"{page}: examples no longer print what the page says "
        f"(python -m tests.docs.examples --update {page}):\n" + "\n".join(failures)
    )


def test_the_matcher_elides_only_what_it_is_told_to() -> None:
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert matches(["id …"], ["id 42"])
    assert not matches(["a", "d"], ["a", "b", "d"])
    assert not matches(["id …"], ["no id"])


def test_every_pathway_command_shown_in_the_docs_is_a_checked_example() -> None:
    """A ``$ pathway …`` line outside a console block would never be run, so it could go stale."""
    unchecked = []
    for page in PAGES:
        text = re.sub(r"^```console\n.*?^```", "", (ROOT / page).read_text(encoding="utf-8"), flags=re.S | re.M)
        unchecked += [f"{page}: {line}" for line in text.splitlines() if line.startswith("$ pathway")]
    assert not unchecked, "make these console examples: " + "; ".join(unchecked)


def test_the_readme_is_short_and_its_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 160
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if not t.startswith(("http://", "https://"))]
    assert local, "the README should link into the docs"
    assert [t for t in local if not (ROOT / t).exists()] == []
    assert "PATHWAY.md" not in readme  # the specification lives in docs/, not outside the repository


def test_the_http_reference_lists_every_route(site: Path) -> None:
    from pathway.web.app import ROUTES

    page = _text(site / "reference" / "api.html")
    missing = [f"{r.method} {r.path}" for r in ROUTES if f"{r.method} {r.path}" not in re.sub(r"\s+", " ", page)]
    assert not missing, f"missing from the HTTP API reference: {missing}"
