"""In a real browser: the rule-set, user, report and audit pages pass axe-core, on a desk and on a phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web.browser.conftest import PHONE, WIDE
from tests.web.browser.driving import fits_width, shoot, sign_in, violations, wait_for
from tests.web.conftest import Site
from tests.web.pages import set_password

PAGES = {
    "admin": ["/rules", "/rules/1", "/users", "/users/kim/tokens", "/users/kim/digest", "/audit"],
    "reviewer": ["/report", "/audit", "/rules/diff?from=1&to=1"],
}


@pytest.mark.parametrize("role", sorted(PAGES))
def test_every_page_is_accessible_and_fits_a_phone(site: Site, chrome: Any, screenshots: Path, role: str) -> None:
    from selenium.webdriver.common.by import By

    site.pathway.ok("--as", "kim", "episode", "open", "--patient", "MRN-A11Y", "--side", "left")
    set_password(site, {"admin": "amira", "reviewer": "rey"}[role])
    sign_in(chrome, site, role)
    for size in (WIDE, PHONE):
        chrome.set_window_size(*size)
        for path in PAGES[role]:
            chrome.get(site.url + path)
            wait_for(chrome, lambda d: d.find_element(By.TAG_NAME, "h1"))
            assert "/login" not in chrome.current_url, path
            assert violations(chrome) == [], (path, size)
            assert fits_width(chrome), (path, size)
            if size == WIDE:
                name = path.strip("/").split("?")[0].replace("/", "-")
                shoot(chrome, screenshots, f"{name}-{role}")
