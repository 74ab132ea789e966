"""Headless Chromium (Debian's chromium and chromium-driver) driven by Selenium, against the real server.

Without the browser these tests skip with the reason shown, except under CI (``CI=true``)
where they fail: `.ci/run` installs the packages. Selenium is told to stay offline, so it
never downloads a driver of its own.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import UNDER_CI

CHROMIUM = os.environ.get("PATHWAY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PATHWAY_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
WIDE, PHONE = (1280, 900), (375, 800)


def _missing() -> str | None:
    absent = [p for p in (CHROMIUM, CHROMEDRIVER) if shutil.which(p) is None]
    if absent:
        return (f"no browser for the browser tests ({', '.join(absent)} missing): "
                "apt-get install -y --no-install-recommends chromium chromium-driver")  # fmt: skip
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: pip install -e '.[dev]'"
    return None


@pytest.fixture(scope="session")
def _browser_available() -> None:
    problem = _missing()
    if problem is not None:
        if UNDER_CI:
            pytest.fail(f"CI=true but {problem}")
        pytest.skip(problem)


@pytest.fixture
def chrome(_browser_available: None, tmp_path: Path) -> Iterator[object]:
    """A fresh headless Chromium per test (its own profile: no cookies carried between tests)."""
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={WIDE[0]},{WIDE[1]}",
                     "--lang=en-GB", "--force-prefers-reduced-motion"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: the test's own folder, or PATHWAY_SCREENSHOTS (`make screenshots` refreshes the docs')."""
    folder = Path(os.environ.get("PATHWAY_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
