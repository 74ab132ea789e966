"""In a real browser: signing in with the keyboard, the worklist and its filters, signing out; axe on each page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.walk import episode_before
from tests.web.browser.conftest import PHONE, WIDE
from tests.web.browser.driving import fits_width, shoot, sign_in, violations, wait_for
from tests.web.conftest import Site
from tests.web.pages import set_password


def _clinic(site: Site) -> int:
    """One patient whose radiograph report is overdue, one whose MRI report is."""
    eid = episode_before(site.pathway, "record_radiographs", "MRN-B-0001", user="kim")
    episode_before(site.pathway, "record_mri", "MRN-B-0002", user="kim")
    site.pathway.ok("--as", "cron", "jobs", "flag-overdue")
    set_password(site, "kim")
    return eid


def test_sign_in_find_the_overdue_patient_filter_and_sign_out(site: Site, chrome: Any, screenshots: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    eid = _clinic(site)
    chrome.get(site.url + "/")
    wait_for(chrome, lambda d: "/login" in d.current_url)
    assert violations(chrome) == []
    shoot(chrome, screenshots, "sign-in")
    sign_in(chrome, site, "coordinator")
    table = wait_for(chrome, lambda d: d.find_element(By.CSS_SELECTOR, "table.worklist"))
    first = table.find_element(By.CSS_SELECTOR, "tbody tr")
    assert "MRN-B-0001" in first.text and "overdue" in first.text  # most overdue first
    assert violations(chrome) == []
    shoot(chrome, screenshots, "worklist")

    Select(chrome.find_element(By.ID, "f-kind")).select_by_value("mri_report")  # htmx swaps the results
    wait_for(chrome, lambda d: "kind=mri_report" in d.current_url)
    wait_for(chrome, lambda d: "MRN-B-0001" not in d.find_element(By.ID, "results").text)
    assert "MRN-B-0002" in chrome.find_element(By.ID, "results").text
    chrome.refresh()  # the filtered view is a bookmark
    assert Select(chrome.find_element(By.ID, "f-kind")).first_selected_option.get_attribute("value") == "mri_report"

    chrome.get(site.url + "/")
    chrome.find_element(By.LINK_TEXT, "MRN-B-0001").click()
    wait_for(chrome, lambda d: d.current_url.endswith(f"/episodes/{eid}"))
    assert "MRN-B-0001" not in chrome.current_url

    chrome.back()
    chrome.find_element(By.CSS_SELECTOR, "form.signout button").click()
    wait_for(chrome, lambda d: "signed_out" in d.current_url)
    assert "You were signed out" in chrome.page_source
    chrome.get(site.url + "/")
    wait_for(chrome, lambda d: "/login" in d.current_url)


def test_the_worklist_reads_on_a_phone_and_prints_without_navigation(site: Site, chrome: Any,
                                                                      screenshots: Path) -> None:  # fmt: skip
    from selenium.webdriver.common.by import By

    _clinic(site)
    sign_in(chrome, site, "coordinator")
    chrome.set_window_size(*PHONE)
    chrome.get(site.url + "/")
    wait_for(chrome, lambda d: d.find_element(By.CSS_SELECTOR, "table.worklist"))
    assert fits_width(chrome)
    assert violations(chrome) == []
    shoot(chrome, screenshots, "worklist-phone")
    chrome.set_window_size(*WIDE)
    chrome.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not chrome.find_element(By.CSS_SELECTOR, "header nav").is_displayed()
    assert chrome.find_element(By.CSS_SELECTOR, "table.worklist").is_displayed()


def test_a_search_is_never_in_the_address_bar(site: Site, chrome: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _clinic(site)
    sign_in(chrome, site, "coordinator")
    chrome.find_element(By.ID, "q").send_keys("b-0002" + Keys.ENTER)
    wait_for(chrome, lambda d: "Matching" in d.find_element(By.ID, "results").text)
    results = chrome.find_element(By.ID, "results").text
    assert "MRN-B-0002" in results and "MRN-B-0001" not in results
    assert "0002" not in chrome.current_url


def test_the_page_warns_before_the_idle_timeout_and_staying_keeps_the_session(site: Site, chrome: Any) -> None:
    """The browser's clock is run forward (virtual time), not waited for."""
    from selenium.webdriver.common.by import By

    _clinic(site)
    sign_in(chrome, site, "coordinator")
    warning = chrome.find_element(By.ID, "idle-warning")
    assert not warning.is_displayed()
    chrome.execute_cdp_cmd("Emulation.setVirtualTimePolicy", {"policy": "advance", "budget": 29 * 60 * 1000})
    wait_for(chrome, lambda d: d.find_element(By.ID, "idle-warning").is_displayed())
    assert "You will be signed out in" in warning.text and warning.get_attribute("role") == "alert"
    warning.find_element(By.CSS_SELECTOR, "button[data-stay]").click()
    wait_for(chrome, lambda d: not d.find_element(By.ID, "idle-warning").is_displayed())
