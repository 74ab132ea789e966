"""Every page, attacked: no one signed in, a forged or missing CSRF token, a body too large, every role.

Whatever the route, a visitor who is not signed in is sent to sign in (and nothing is
shown or changed), and a form posted without the session's CSRF token is refused with
403 and changes nothing, whoever is signed in.
"""

from __future__ import annotations

import re

import httpx
import pytest

from pathway.web.pages import ROUTES as PAGES
from tests.conftest import dump
from tests.walk import episode_before
from tests.web.conftest import ROLES, Site
from tests.web.pages import browser

OPEN_PAGES = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout")}


def _path(template: str, episode_id: int) -> str:
    """A real address for a route: the episode's id, rule set 1, user kim, token 1."""
    ids = "1" if template.startswith(("/rules/", "/users/")) else str(episode_id)
    values = {"id": ids, "seq": "2", "name": "kim", "role": "coordinator"}
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], template)


def test_every_page_sends_a_visitor_who_is_not_signed_in_to_sign_in(site: Site) -> None:
    eid = episode_before(site.pathway, "record_radiographs", "MRN-ATT-1", user="kim")
    before = dump(site.engine)
    with httpx.Client(base_url=site.url, timeout=60) as anonymous:
        for route in PAGES:
            if (route.method, route.path) in OPEN_PAGES:
                continue
            answer = anonymous.request(route.method, _path(route.path, eid), data={"trigger": "order_mri"})
            assert answer.status_code == 303, (route.method, route.path, answer.status_code)
            assert answer.headers["location"].startswith("/login"), route.path
            assert "MRN-ATT-1" not in answer.text and "MRN-ATT-1" not in answer.headers["location"]
    after = dump(site.engine)
    assert after == before


@pytest.mark.parametrize("csrf", ["", "forged-token"], ids=["missing", "forged"])
def test_no_form_is_taken_without_the_sessions_csrf_token_whoever_sends_it(site: Site, csrf: str) -> None:
    eid = episode_before(site.pathway, "record_radiographs", "MRN-ATT-2", user="kim")
    posts = [r for r in PAGES if r.method == "POST" and (r.method, r.path) not in OPEN_PAGES]
    assert len(posts) >= 13
    for role in ROLES:
        with browser(site, role) as client:
            before = dump(site.engine)
            for route in posts:
                data = {"csrf_token": csrf, "trigger": "record_radiographs", "result": "negative", "name": "eve",
                        "role": "admin", "reason": "x", "patient_ref": "MRN-EVE", "side": "left", "confirm": "1",
                        "note": "x"}  # fmt: skip
                answer = client.post(_path(route.path, eid), data=data)
                assert answer.status_code == 403, (role, route.path, answer.status_code)
                assert "reload the page" in answer.text
            after = dump(site.engine)
            for table in ("access_log", "access_log_head", "sessions"):  # the session's last use may move
                after.pop(table, None), before.pop(table, None)
            assert after == before, role


def test_a_form_too_large_is_refused_and_a_form_that_is_not_a_form_too(site: Site) -> None:
    eid = episode_before(site.pathway, "record_radiographs", "MRN-ATT-3", user="kim")
    with browser(site) as client:
        page = client.get(f"/episodes/{eid}")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        huge = client.post(f"/episodes/{eid}/advance", data={"csrf_token": token.group(1), "note": "x" * 200_000})
        assert huge.status_code == 413 and "<h1>" in huge.text
        json_body = client.post(f"/episodes/{eid}/advance", json={"csrf_token": token.group(1)})
        assert json_body.status_code == 400 and "as a browser does" in json_body.text


def test_a_wrong_address_is_a_page_for_a_person_and_json_for_a_program(site: Site) -> None:
    with httpx.Client(base_url=site.url, timeout=60) as client:
        page = client.get("/no/such/page", headers={"Accept": "text/html"})
        assert page.status_code == 404 and "There is no such page here." in page.text and "<h1>" in page.text
        api = client.get("/api/no/such/route", headers={"Accept": "text/html"})
        assert api.status_code == 404 and api.json()["error"]["exit_code"] == 3


def test_pages_are_never_cached_the_stylesheet_and_scripts_may_be(site: Site) -> None:
    with httpx.Client(base_url=site.url, timeout=60) as client:
        assert client.get("/login").headers["cache-control"] == "no-store"
        for path in ("/static/app.css", "/static/vendor/htmx.min.js", "/static/app.js"):
            answer = client.get(path)
            assert answer.status_code == 200 and answer.headers["cache-control"] == "public, max-age=86400", path
            assert "content-security-policy" in answer.headers
        assert client.get("/static/../pathway/web/app.py").status_code == 404
