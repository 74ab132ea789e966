"""In a real browser: the coordinator's day on one patient, from the worklist to a corrected step.

Sign in; find the overdue patient; open the episode; try a refused step and read its
reasons; record a step through its form; correct a value; sign out. A coordinator does
not see the override box; a clinician does. axe-core checks every page on the way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.walk import episode_before
from tests.web.browser.conftest import PHONE, WIDE
from tests.web.browser.driving import fits_width, shoot, sign_in, violations, wait_for
from tests.web.conftest import Site
from tests.web.pages import set_password


def _by(name: str) -> Any:
    from selenium.webdriver.common.by import By

    return getattr(By, name)


def test_the_coordinators_day_from_worklist_to_a_corrected_step(site: Site, chrome: Any, screenshots: Path) -> None:
    eid = episode_before(site.pathway, "record_injection_response", "MRN-DAY-1", user="cleo")
    site.pathway.ok("--as", "cron", "jobs", "flag-overdue")
    set_password(site, "kim")
    sign_in(chrome, site, "coordinator")
    row = wait_for(chrome, lambda d: d.find_element(_by("CSS_SELECTOR"), "table.worklist tbody tr"))
    assert "MRN-DAY-1" in row.text and "injection response" in row.text
    row.find_element(_by("LINK_TEXT"), "MRN-DAY-1").click()
    wait_for(chrome, lambda d: d.current_url.endswith(f"/episodes/{eid}"))
    assert "injection done" in chrome.find_element(_by("CSS_SELECTOR"), "dl.facts").text
    assert violations(chrome) == []
    shoot(chrome, screenshots, "episode")
    chrome.execute_script("document.getElementById('next').scrollIntoView()")
    shoot(chrome, screenshots, "episode-next-steps")

    step = chrome.find_element(_by("ID"), "step-record_injection_response")
    step.find_element(_by("TAG_NAME"), "summary").click()
    step.find_element(_by("ID"), "record_injection_response-pain_before").send_keys("8")
    step.find_element(_by("ID"), "record_injection_response-pain_after").send_keys("3")
    step.find_element(_by("CSS_SELECTOR"), "input[name=relief][value=temporary]").click()
    step.find_element(_by("CSS_SELECTOR"), "button[type=submit]").click()
    wait_for(chrome, lambda d: "done=record_injection_response" in d.current_url)
    assert "Recorded: record injection response" in chrome.page_source
    assert "conservative care" in chrome.find_element(_by("CSS_SELECTOR"), "dl.facts").text
    latest = chrome.find_element(_by("CSS_SELECTOR"), "#timeline tbody tr")
    assert "pain after: 3" in latest.text
    refused = chrome.find_element(_by("ID"), "step-refer_to_surgery")  # a refused step and its reasons
    assert "not now" in refused.text and "no reassessment is recorded" in refused.text
    assert not refused.find_elements(_by("NAME"), "override_reason")  # coordinators cannot override
    assert not refused.find_elements(_by("TAG_NAME"), "form")

    latest.find_element(_by("PARTIAL_LINK_TEXT"), "Correct").click()
    wait_for(chrome, lambda d: d.current_url.endswith("/correct"))
    assert violations(chrome) == []
    after = chrome.find_element(_by("ID"), "fix-pain_after")
    after.clear()
    after.send_keys("2")
    chrome.find_element(_by("ID"), "change-reason").send_keys("clinic sheet says 2")
    shoot(chrome, screenshots, "correct")
    chrome.find_element(_by("CSS_SELECTOR"), "form.stack button[type=submit]").click()
    wait_for(chrome, lambda d: "done=correct" in d.current_url)
    timeline = chrome.find_element(_by("ID"), "timeline").text
    assert "corrects event" in timeline and "pain after = 2" in timeline and "corrected by" in timeline
    assert violations(chrome) == []

    chrome.find_element(_by("CSS_SELECTOR"), "form.signout button").click()
    wait_for(chrome, lambda d: "signed_out" in d.current_url)


def test_a_clinician_overrides_with_a_reason_a_coordinator_never_sees_the_box(site: Site, chrome: Any,
                                                                              screenshots: Path) -> None:  # fmt: skip
    eid = episode_before(site.pathway, "record_injection_response", "MRN-OVR-1", user="cleo")
    site.pathway.ok("--as", "cleo", "advance", str(eid), "record_injection_response", "--on", "2026-02-20",
                    "--set", "pain_before=8", "--set", "pain_after=2", "--set", "relief=temporary")  # fmt: skip
    set_password(site, "cleo")
    sign_in(chrome, site, "clinician")
    chrome.get(f"{site.url}/episodes/{eid}")
    refused = wait_for(chrome, lambda d: d.find_element(_by("ID"), "step-refer_to_surgery"))
    assert "not now" in refused.text
    refused.find_element(_by("TAG_NAME"), "summary").click()
    box = refused.find_element(_by("NAME"), "override_reason")
    assert box.get_attribute("required") is not None
    refused.find_element(_by("CSS_SELECTOR"), "button[type=submit]").click()  # the browser asks for the reason
    assert chrome.current_url.endswith(f"/episodes/{eid}")
    box.send_keys("MDT agreed: severe pain, conservative care exhausted")
    refused.find_element(_by("CSS_SELECTOR"), "button[type=submit]").click()
    wait_for(chrome, lambda d: "done=refer_to_surgery" in d.current_url)
    assert "surgical referral" in chrome.find_element(_by("CSS_SELECTOR"), "dl.facts").text
    assert "Override" in chrome.find_element(_by("CSS_SELECTOR"), "#timeline tbody tr").text
    assert violations(chrome) == []
    chrome.set_window_size(*PHONE)
    assert fits_width(chrome)
    assert violations(chrome) == []
    shoot(chrome, screenshots, "episode-phone")
    chrome.set_window_size(*WIDE)


def _tab_to(chrome: Any, matches: Any, limit: int = 80) -> Any:
    """Press Tab until the focused element is the one wanted (as a keyboard user would)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        ActionChains(chrome).send_keys(Keys.TAB).perform()
        focused = chrome.switch_to.active_element
        if matches(focused):
            return focused
    raise AssertionError("never reached by the keyboard")


def test_the_common_flow_works_with_the_keyboard_alone(site: Site, chrome: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    eid = episode_before(site.pathway, "record_injection_response", "MRN-KEY-1", user="cleo")
    site.pathway.ok("--as", "cron", "jobs", "flag-overdue")
    set_password(site, "kim")
    sign_in(chrome, site, "coordinator")  # typed, Enter submits
    _tab_to(chrome, lambda e: e.text == "MRN-KEY-1").send_keys(Keys.ENTER)
    wait_for(chrome, lambda d: d.current_url.endswith(f"/episodes/{eid}"))
    summary = _tab_to(chrome, lambda e: e.tag_name == "summary" and "record injection response" in
                      (e.get_attribute("textContent") or ""))  # fmt: skip
    summary.send_keys(Keys.ENTER)  # opens the step's form
    _tab_to(chrome, lambda e: e.get_attribute("id") == "record_injection_response-pain_before").send_keys("7")
    ActionChains(chrome).send_keys(Keys.TAB, "1").perform()  # pain after
    relief = _tab_to(chrome, lambda e: e.get_attribute("name") == "relief")
    relief.send_keys(Keys.ARROW_RIGHT)  # radio buttons: arrows choose
    relief = chrome.switch_to.active_element
    relief.send_keys(Keys.SPACE)
    assert relief.get_attribute("value") in ("temporary", "sustained")
    _tab_to(chrome, lambda e: e.tag_name == "button" and "Record" in e.text).send_keys(Keys.ENTER)
    wait_for(chrome, lambda d: "done=record_injection_response" in d.current_url)
    assert "conservative care" in chrome.find_element(_by("CSS_SELECTOR"), "dl.facts").text
    chrome.get(site.url + "/")
    _tab_to(chrome, lambda e: e.text == "Sign out", limit=12).send_keys(Keys.ENTER)
    wait_for(chrome, lambda d: "signed_out" in d.current_url)
