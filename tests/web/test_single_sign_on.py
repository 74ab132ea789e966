"""OpenID Connect against a local provider (oidc-provider-mock) on loopback: roles stay in pathway."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import sqlalchemy as sa
from oidc_provider_mock import run_server_in_thread

from pathway.db.models import AccessLogRow, EventRow
from tests.web.conftest import Site

EPISODE = {"patient_ref": "MRN-5", "side": "right", "referred_on": "2026-01-05"}


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with run_server_in_thread() as server:
        issuer = f"http://localhost:{server.server_port}"
        monkeypatch.setenv("PATHWAY_OIDC_ISSUER", issuer)
        monkeypatch.setenv("PATHWAY_OIDC_CLIENT_ID", "pathway")
        monkeypatch.setenv("PATHWAY_OIDC_CLIENT_SECRET", "s3cret-for-tests")
        yield issuer


def start(site: Site) -> tuple[httpx.Client, str]:
    """A browser at pathway's login: redirected to the provider."""
    browser = httpx.Client(base_url=site.url, timeout=60)
    response = browser.get("/api/oidc/login")
    assert response.status_code == 302, response.text
    return browser, response.headers["location"]


def at_provider(location: str, sub: str) -> str:
    """The user signs in at the provider as ``sub``; the provider sends the browser back with a code."""
    answer = httpx.post(location, data={"sub": sub}, timeout=60)
    assert answer.status_code == 302, answer.text
    return str(answer.headers["location"])


def test_a_pathway_user_signs_in_with_the_provider_and_acts_with_their_pathway_role(site: Site, provider: str) -> None:
    browser, location = start(site)
    assert location.startswith(provider) and parse_qs(urlparse(location).query)["code_challenge_method"] == ["S256"]
    back = at_provider(location, "cleo")
    response = browser.get(back)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "cleo" and body["auth"] == "oidc"
    assert browser.get("/api/me").json()["roles"] == ["clinician"]
    opened = browser.post("/api/episodes", json=EPISODE, headers={"X-CSRF-Token": body["csrf_token"]})
    assert opened.status_code == 201
    with site.engine.connect() as conn:
        assert conn.execute(sa.select(EventRow.actor, EventRow.auth)).one() == ("cleo", "oidc")
    assert browser.get(back).status_code == 401  # the same answer again: the login was used once


def test_someone_the_provider_knows_but_pathway_does_not_is_refused(site: Site, provider: str) -> None:
    browser, location = start(site)
    response = browser.get(at_provider(location, "mallory"))
    assert response.status_code == 401 and "not an active pathway user" in response.json()["error"]["message"]
    assert "pathway_session" not in browser.cookies
    site.pathway.ok("--as", "amira", "user", "disable", "kim")
    browser, location = start(site)
    assert browser.get(at_provider(location, "kim")).status_code == 401
    with site.engine.connect() as conn:
        refused = conn.execute(sa.select(AccessLogRow.actor, AccessLogRow.detail, AccessLogRow.auth).where(
            AccessLogRow.action == "session.create")).all()  # fmt: skip
    assert [(a, d["reason"], auth) for a, d, auth in refused] == [("mallory", "unknown user", "oidc"),
                                                                 ("kim", "disabled", "oidc")]  # fmt: skip


def test_an_answer_for_a_login_started_elsewhere_is_refused(site: Site, provider: str) -> None:
    _victim, location = start(site)
    back = at_provider(location, "cleo")
    attacker = httpx.Client(base_url=site.url)  # has the code and state, not the browser's state cookie
    assert attacker.get(back).status_code == 401
    forged = back.replace("state=", "state=x")
    browser, _ = start(site)
    assert browser.get(forged).status_code == 401


def test_without_a_provider_single_sign_on_is_not_found(site: Site) -> None:
    with httpx.Client(base_url=site.url) as browser:
        assert browser.get("/api/oidc/login").status_code == 404


def test_a_browser_comes_back_from_the_provider_to_the_worklist_and_the_sign_in_page_offers_it(
    site: Site, provider: str
) -> None:
    with httpx.Client(base_url=site.url, timeout=60) as page:
        assert 'href="/api/oidc/login"' in page.get("/login").text
    browser, location = start(site)
    back = at_provider(location, "kim")
    response = browser.get(back, headers={"Accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 303 and response.headers["location"] == "/"
    worklist = browser.get("/")
    assert worklist.status_code == 200 and "kim" in worklist.text and "<h1>Worklist" in worklist.text


def test_without_a_provider_the_sign_in_page_offers_passwords_only(site: Site) -> None:
    with httpx.Client(base_url=site.url, timeout=60) as page:
        assert "/api/oidc/login" not in page.get("/login").text
