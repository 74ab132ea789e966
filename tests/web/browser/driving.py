"""What the browser tests do to a page: sign in, fill a form, check it with axe-core, take its picture."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.web.conftest import PASSWORD, USER_OF, Site

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}


def sign_in(driver: Any, site: Site, role: str) -> None:
    """Through the sign-in form, with the keyboard only (Enter submits)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(site.url + "/login")
    driver.find_element(By.ID, "name").send_keys(USER_OF[role])
    driver.find_element(By.ID, "password").send_keys(PASSWORD + Keys.ENTER)
    wait_for(driver, lambda d: d.current_url.rstrip("/") == site.url or "/login" not in d.current_url)


def wait_for(driver: Any, condition: Any, timeout: float = 30) -> Any:
    """Until the page shows the result (a page load or an htmx swap), not for a fixed time."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def violations(driver: Any) -> list[dict[str, Any]]:
    """What axe-core (vendored) reports on the page as it stands: rule, impact and the elements."""
    driver.execute_script(AXE)
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, arguments[0]).then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,"
        " help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))),"
        " e => done([{id: 'axe-error', help: String(e), nodes: []}]));",
        RULES,
    )
    return list(found)


def fits_width(driver: Any) -> bool:
    """No sideways scrolling of the page itself (wide tables scroll inside their own box)."""
    return bool(driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1;"))


# The pictures the README and docs show: `make screenshots` refreshes these in docs/images.
DOCUMENTED = frozenset({"sign-in", "clinic-worklist", "clinic-episode-post-operative", "clinic-episode-conservative-care",
                        "clinic-report", "correct", "episode-phone", "worklist-phone", "rules-1-admin", "users-admin",
                        "audit-admin"})  # fmt: skip


def shoot(driver: Any, folder: Path, name: str) -> Path | None:
    """Save the page as ``name``.png; into the docs' folder only the pictures the docs show."""
    if os.environ.get("PATHWAY_SCREENSHOTS") and name not in DOCUMENTED:
        return None
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
