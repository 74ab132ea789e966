"""Every route x every role, over HTTP: the access matrix as the server applies it.

Each case is one call built fresh for the role (its own episode, so no call depends on
another role's); a role the matrix allows gets the expected success status, every other
role 403 with the CLI's error body and nothing changed, and nobody signed in gets 401.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from pathway.domain.access import MATRIX, ROLES
from pathway.web.app import ROUTES
from tests.conftest import dump
from tests.web.conftest import Site


@dataclass(frozen=True)
class Case:
    method: str
    route: str  # the route's template, as the OpenAPI document lists it
    actions: tuple[str, ...]  # what the call needs (empty: any signed-in user)
    ok: int
    build: Callable[[Site, int], tuple[str, Any]]  # site, a fresh episode id -> (path, json body)


def _episode(site: Site) -> int:
    with site.as_("clinician") as c:
        n = len(c.get("/api/episodes").json())
        return int(c.post("/api/episodes", json={"patient_ref": f"MRN-{n}", "side": "left",
                                                 "referred_on": "2026-01-05"}).json()["id"])  # fmt: skip


def _toml(site: Site) -> str:
    with site.as_("admin") as c:
        return str(c.get("/api/rules/1/export").json()["toml"])


def _draft(site: Site) -> int:
    with site.as_("admin") as c:
        return int(c.post("/api/rules", json={"toml": _toml(site), "note": "draft"}).json()["version"])


def _stepped(site: Site, episode_id: int) -> int:
    """Event 2 of the episode: radiographs ordered (the opening event cannot be voided)."""
    with site.as_("clinician") as c:
        answer = c.post(f"/api/episodes/{episode_id}/advance", json={"trigger": "order_radiographs",
                                                                     "occurred_on": "2026-01-06"})  # fmt: skip
        assert answer.status_code == 200, answer.text
    return 2


def _person(site: Site, episode_id: int) -> str:
    """A new coordinator to act on (named after the fresh episode, so each case has its own)."""
    name = f"p{episode_id}"
    with site.as_("admin") as c:
        assert c.post("/api/users", json={"name": name, "role": "coordinator"}).status_code == 200
    return name


def _token_of(site: Site, episode_id: int) -> str:
    name = _person(site, episode_id)
    with site.as_("admin") as c:
        answer = c.post(f"/api/users/{name}/tokens", json={"note": "matrix"})
        assert answer.status_code == 201, answer.text
    return f"/api/users/{name}/tokens/{answer.json()['id']}/revoke"


def _activated(site: Site) -> int:
    version = _draft(site)
    with site.as_("admin") as c:
        assert c.post(f"/api/rules/{version}/activate", json={}).status_code == 200
    return version


CASELOAD = ("patient_ref,side,trigger,occurred_on,referred_on\r\n"
            "MRN-IMP-{n},left,open,2026-01-05,2026-01-05\r\nMRN-IMP-{n},left,order_radiographs,2026-01-06,\r\n")

CASES = [
    Case("GET", "/api/me", (), 200, lambda s, e: ("/api/me", None)),
    Case("POST", "/api/tokens", (), 201, lambda s, e: ("/api/tokens", {"note": "matrix", "expires_days": 1})),
    Case("GET", "/api/episodes", ("episode.list",), 200, lambda s, e: ("/api/episodes?limit=5", None)),
    Case("POST", "/api/episodes", ("episode.open",), 201, lambda s, e: ("/api/episodes", {
        "patient_ref": f"MRN-new-{e}", "side": "right", "referred_on": "2026-02-01", "has_hip_arthroplasty": False})),
    Case("GET", "/api/episodes/{id}", ("episode.show",), 200, lambda s, e: (f"/api/episodes/{e}", None)),
    Case("GET", "/api/episodes/{id}/history", ("episode.history",), 200,
         lambda s, e: (f"/api/episodes/{e}/history", None)),
    Case("GET", "/api/episodes/{id}/next", ("next",), 200, lambda s, e: (f"/api/episodes/{e}/next", None)),
    Case("POST", "/api/episodes/{id}/advance", ("advance.order_radiographs",), 200,
         lambda s, e: (f"/api/episodes/{e}/advance", {"trigger": "order_radiographs", "occurred_on": "2026-01-06"})),
    Case("POST", "/api/episodes/{id}/advance", ("advance.order_mri", "override"), 200,
         lambda s, e: (f"/api/episodes/{e}/advance", {"trigger": "order_mri", "occurred_on": "2026-01-06",
                                                     "override_reason": "MDT agreed"})),
    Case("POST", "/api/episodes/{id}/events/{seq}/correct", ("correct", "episode.open"), 200,
         lambda s, e: (f"/api/episodes/{e}/events/1/correct", {"fields": {"referred_on": "2026-01-04"}, "reason": "typo"})),
    Case("POST", "/api/episodes/{id}/events/{seq}/void", ("void", "advance.order_radiographs"), 200,
         lambda s, e: (f"/api/episodes/{e}/events/{_stepped(s, e)}/void", {"reason": "wrong patient"})),
    Case("GET", "/api/users", ("user.list",), 200, lambda s, e: ("/api/users", None)),
    Case("POST", "/api/users", ("user.add",), 200, lambda s, e: ("/api/users", {"name": f"n{e}", "role": "reviewer"})),
    Case("POST", "/api/users/{name}/disable", ("user.disable",), 200,
         lambda s, e: (f"/api/users/{_person(s, e)}/disable", {})),
    Case("POST", "/api/users/{name}/enable", ("user.enable",), 200,
         lambda s, e: (f"/api/users/{_person(s, e)}/enable", {})),
    Case("POST", "/api/users/{name}/revoke", ("user.revoke",), 200,
         lambda s, e: (f"/api/users/{_person(s, e)}/revoke", {"role": "coordinator"})),
    Case("PUT", "/api/users/{name}/password", ("user.password",), 200,
         lambda s, e: (f"/api/users/{_person(s, e)}/password", {"password": "a long enough passphrase"})),
    Case("PUT", "/api/users/{name}/contact", ("user.set",), 200,
         lambda s, e: (f"/api/users/{_person(s, e)}/contact", {"email": "someone@clinic.test"})),
    Case("GET", "/api/users/{name}/tokens", ("user.token",), 200,
         lambda s, e: (f"/api/users/{_person(s, e)}/tokens", None)),
    Case("POST", "/api/users/{name}/tokens", ("user.token",), 201,
         lambda s, e: (f"/api/users/{_person(s, e)}/tokens", {"note": "for a script", "expires_days": 30})),
    Case("POST", "/api/users/{name}/tokens/{token}/revoke", ("user.token",), 200,
         lambda s, e: (_token_of(s, e), {})),
    Case("POST", "/api/import", ("import", "advance.order_radiographs"), 200,
         lambda s, e: ("/api/import?name=caseload.csv", CASELOAD.replace("{n}", str(e)).encode())),
    Case("GET", "/api/worklist", ("worklist",), 200, lambda s, e: ("/api/worklist?due_within=7", None)),
    Case("POST", "/api/jobs/flag-overdue", ("jobs.flag-overdue",), 200, lambda s, e: ("/api/jobs/flag-overdue", {})),
    Case("POST", "/api/jobs/notify", ("jobs.notify",), 200, lambda s, e: ("/api/jobs/notify", {"dry_run": True})),
    Case("GET", "/api/audit/verify", ("audit.verify",), 200, lambda s, e: ("/api/audit/verify", None)),
    Case("GET", "/api/audit/export", ("audit.export",), 200, lambda s, e: ("/api/audit/export?format=csv", None)),
    Case("GET", "/api/audit/export", ("audit.export.identified",), 200,
         lambda s, e: ("/api/audit/export?format=jsonl&identified=true", None)),
    Case("GET", "/api/report/quality", ("report.quality",), 200, lambda s, e: ("/api/report/quality", None)),
    Case("GET", "/api/rules", ("rules.list",), 200, lambda s, e: ("/api/rules", None)),
    Case("POST", "/api/rules", ("rules.new",), 201, lambda s, e: ("/api/rules", {"toml": _toml(s)})),
    Case("GET", "/api/rules/{version}", ("rules.show",), 200, lambda s, e: ("/api/rules/1", None)),
    Case("GET", "/api/rules/{version}/diff/{other}", ("rules.diff",), 200,
         lambda s, e: (f"/api/rules/1/diff/{_draft(s)}", None)),
    Case("GET", "/api/rules/{version}/export", ("rules.export",), 200, lambda s, e: ("/api/rules/1/export", None)),
    Case("POST", "/api/rules/{version}/activate", ("rules.activate",), 200,
         lambda s, e: (f"/api/rules/{_draft(s)}/activate", {})),
    Case("POST", "/api/rules/migrate", ("rules.preview",), 200,
         lambda s, e: ("/api/rules/migrate", {"to_version": 1, "episode_id": e, "dry_run": True})),
    Case("POST", "/api/rules/migrate", ("rules.migrate",), 200,
         lambda s, e: ("/api/rules/migrate", {"to_version": _activated(s), "episode_id": e})),
]  # fmt: skip
OPEN_ROUTES = {("GET", "/api/health"), ("POST", "/api/session"), ("DELETE", "/api/session"),
               ("GET", "/api/openapi.json"), ("GET", "/api/oidc/login"), ("GET", "/api/oidc/callback")}  # fmt: skip
# Revokes the very token the call presents, so it cannot share the loop's tokens: `pathway
# logout` exercises it (tests/web/test_client_mode.py), and anonymous calls get 401 below.
SELF_REVOKING = {("DELETE", "/api/tokens/current")}


@pytest.fixture(autouse=True)
def _digest_links(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATHWAY_BASE_URL", "https://pathway.clinic.test")  # `jobs notify` links to the pages


def allowed(case: Case, role: str) -> bool:
    return all(action in MATRIX[role] for action in case.actions)


def call(client: httpx.Client, case: Case, path: str, body: Any) -> httpx.Response:
    if isinstance(body, bytes):  # a file upload
        return client.request(case.method, path, content=body, headers={"Content-Type": "text/csv"})
    return client.request(case.method, path, json=body if case.method != "GET" else None)


def test_the_cases_cover_every_route() -> None:
    assert {(c.method, c.route) for c in CASES} | OPEN_ROUTES | SELF_REVOKING == {(r.method, r.path) for r in ROUTES}


def test_revoking_the_current_token_needs_a_token(site: Site) -> None:
    with site.client() as anonymous:
        assert anonymous.delete("/api/tokens/current").status_code == 401


def test_every_route_and_role(site: Site) -> None:
    """One test per back end (starting a server per case would dwarf the calls themselves)."""
    for case in CASES:
        for role in ROLES:
            path, body = case.build(site, _episode(site))
            before = dump(site.engine) if not allowed(case, role) else None
            with site.as_(role) as client:
                response = call(client, case, path, body)
            where = (case.method, path, role, response.text[:300])
            if allowed(case, role):
                assert response.status_code == case.ok, where
            else:
                assert response.status_code == 403, where
                error = response.json()["error"]
                assert error["exit_code"] == 5 and "Nothing was changed" in error["message"], where
                after = dump(site.engine)
                assert len(after.pop("access_log")) == len(before.pop("access_log")) + 1, where  # the refusal
                after.pop("access_log_head"), before.pop("access_log_head")  # the log's chain head moves on
                assert after == before, where
        path, body = case.build(site, _episode(site))
        with site.client() as anonymous:
            response = call(anonymous, case, path, body)
        assert response.status_code == 401 and response.json()["error"]["exit_code"] == 5, (case.route, response.text)


@pytest.mark.parametrize("header", ["Bearer pw_forged", "Bearer", "Basic a2ltOnB3", "Bearer  x y", "token abc"])
def test_a_forged_or_malformed_token_is_401(site: Site, header: str) -> None:
    with httpx.Client(base_url=site.url, headers={"Authorization": header}) as client:
        response = client.get("/api/episodes")
    assert response.status_code == 401 and response.json()["error"]["message"]
