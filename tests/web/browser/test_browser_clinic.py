"""In a real browser, over a clinic of 40 synthetic patients (the demo's): the pages the docs show.

Each page is checked with axe-core as it is photographed; the pictures go to the test's
folder, or to docs/images with `make screenshots`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pathway.services.demo_site import populate
from tests.web.browser.driving import shoot, sign_in, violations, wait_for
from tests.web.conftest import Site
from tests.web.pages import set_password


def _episode_in(site: Site, state: str) -> int:
    with site.engine.connect() as conn:
        import sqlalchemy as sa

        return int(conn.execute(sa.text("SELECT min(id) FROM episodes WHERE state = :s"), {"s": state}).scalar_one())


def test_the_clinic_as_its_coordinator_and_reviewer_see_it(site: Site, chrome: Any, screenshots: Path) -> None:
    from selenium.webdriver.common.by import By

    populate(site.engine, now=site.clock(), with_users=False)
    set_password(site, "kim")
    set_password(site, "rey")
    sign_in(chrome, site, "coordinator")
    rows = wait_for(chrome, lambda d: d.find_elements(By.CSS_SELECTOR, "table.worklist tbody tr"))
    assert len(rows) >= 10 and "overdue" in rows[0].text
    assert violations(chrome) == []
    shoot(chrome, screenshots, "clinic-worklist")
    for state in ("post_operative", "conservative_care"):
        chrome.get(f"{site.url}/episodes/{_episode_in(site, state)}")
        wait_for(chrome, lambda d: d.find_element(By.ID, "next"))
        assert violations(chrome) == [], state
        shoot(chrome, screenshots, f"clinic-episode-{state.replace('_', '-')}")
    chrome.find_element(By.CSS_SELECTOR, "form.signout button").click()
    wait_for(chrome, lambda d: "signed_out" in d.current_url)
    sign_in(chrome, site, "reviewer")
    chrome.get(f"{site.url}/report")
    wait_for(chrome, lambda d: d.find_element(By.TAG_NAME, "h1"))
    assert violations(chrome) == []
    shoot(chrome, screenshots, "clinic-report")
