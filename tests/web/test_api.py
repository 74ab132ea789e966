"""The API's contract: the CLI's JSON as bodies, its errors with mapped statuses, headers, limits."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import httpx
import pytest
import sqlalchemy as sa

from pathway.db.models import EventRow
from pathway.web.app import ROUTES
from tests.conftest import dump
from tests.web.conftest import Site

EPISODE = {"patient_ref": "MRN-42", "side": "left", "referred_on": "2026-01-05", "has_hip_arthroplasty": False}
HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def opened(client: httpx.Client, body: dict | None = None) -> int:
    response = client.post("/api/episodes", json=body or EPISODE)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def check_headers(response: httpx.Response) -> None:
    for name, value in HEADERS.items():
        assert response.headers[name] == value, (response.url, name)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "traceback" not in response.text.lower()


def test_bodies_are_the_clis_json(site: Site) -> None:
    with site.as_("clinician") as c:
        episode = opened(c)
        step = c.post(f"/api/episodes/{episode}/advance", json={"trigger": "order_radiographs",
                                                                "occurred_on": "2026-01-06"})  # fmt: skip
        assert step.status_code == 200 and step.json()["event"]["auth"] == "token"
        cli = site.pathway
        assert c.get(f"/api/episodes/{episode}").json() == cli.json("--as", "cleo", "episode", "show", str(episode))
        assert c.get(f"/api/episodes/{episode}/history").json() == cli.json("--as", "cleo", "episode", "history",
                                                                              str(episode))  # fmt: skip
        assert c.get("/api/episodes?state=radiographs_ordered&limit=10").json() == cli.json(
            "--as", "cleo", "episode", "list", "--state", "radiographs_ordered", "--limit", "10")
        assert c.get(f"/api/episodes/{episode}/next").json() == cli.json("--as", "cleo", "next", str(episode))
        assert c.get("/api/rules").json() == cli.json("--as", "cleo", "rules", "list")
        assert c.get("/api/rules/1").json() == cli.json("--as", "cleo", "rules", "show", "1")
        assert c.get("/api/audit/verify").json() == cli.json("--as", "cleo", "audit", "verify")
        assert c.get("/api/worklist?due_within=30").json() == cli.json("--as", "cleo", "worklist", "--due-within", "30")
        assert c.get("/api/me").json() == {"name": "cleo", "roles": ["clinician"], "auth": "token"}
    with site.as_("service") as s:
        assert s.post("/api/jobs/flag-overdue", json={}).json().keys() == {"opened", "resolved", "open"}


def test_field_values_as_json_or_as_the_clis_strings_are_judged_alike(site: Site) -> None:
    typed = [("order_radiographs", "2026-01-06", {}), ("record_radiographs", "2026-01-08", {"result": "negative"}),
             ("order_mri", "2026-01-09", {}),
             ("record_mri", "2026-01-20", {"ifs_mm": 11, "qfs_mm": 9.5, "qf_edema": True,
                                           "qf_fatty_replacement": False}),
             ("confirm_diagnosis", "2026-01-25", {}), ("start_conservative", "2026-02-01", {"pain": 7})]  # fmt: skip
    texts = [(t, on, {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in f.items()})
             for t, on, f in typed]  # fmt: skip
    with site.as_("clinician") as c:
        histories = []
        for n, steps in enumerate((typed, texts)):
            episode = opened(c, {**EPISODE, "patient_ref": f"MRN-{n}"})
            for trigger, on, fields in steps:
                response = c.post(f"/api/episodes/{episode}/advance", json={"trigger": trigger, "occurred_on": on,
                                                                             "fields": fields})  # fmt: skip
                assert response.status_code == 200, (trigger, response.text)
            histories.append([(e["trigger"], e["fields"]) for e in c.get(f"/api/episodes/{episode}/history").json()])
        assert histories[0][1:] == histories[1][1:]
        assert histories[0][4][1]["qf_edema"] is True and histories[0][4][1]["qfs_mm"] == 9.5
        bad = c.post(f"/api/episodes/{episode}/advance", json={"trigger": "reassess", "fields": {"pain": {"x": 1}}})
        assert bad.status_code == 400 and bad.json()["error"]["exit_code"] == 2


def test_errors_carry_the_exit_code_and_the_mapped_status(site: Site) -> None:
    with site.as_("coordinator") as c:
        episode = opened(c)
        cases = {
            422: c.post(f"/api/episodes/{episode}/advance", json={"trigger": "order_mri"}),  # a guard refuses
            400: c.post(f"/api/episodes/{episode}/advance", json={"trigger": "no_such_step"}),
            404: c.get("/api/episodes/999"),
            409: c.post(f"/api/episodes/{episode}/advance", json={"trigger": "order_radiographs", "expect_version": 7}),
            403: c.post(f"/api/episodes/{episode}/advance", json={"trigger": "order_mri", "override_reason": "x"}),
        }
    codes = {422: 1, 400: 2, 404: 3, 409: 4, 403: 5}
    for status, response in cases.items():
        assert response.status_code == status, (status, response.text)
        error = response.json()["error"]
        assert error["exit_code"] == codes[status] and error["message"], (status, error)
        assert set(response.json()) == {"error"} and set(error) == {"exit_code", "message", "reasons"}
        check_headers(response)
    assert cases[422].json()["error"]["reasons"]  # each failing guard, as the CLI lists them
    with httpx.Client(base_url=site.url) as anonymous:
        response = anonymous.get(f"/api/episodes/{episode}")
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
    check_headers(response)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"patient_ref": 7, "side": "left"}',
                                  b'{"patient_ref": "MRN-1", "side": "up"}',
                                  b'{"patient_ref": "MRN-1", "side": "left", "referred_on": "2026-02-30"}',
                                  b'{"patient_ref": "MRN-1", "side": "left", "has_hip_arthroplasty": "yes"}',
                                  b'{"patient_ref": "\\u0000", "side": "left"}'])  # fmt: skip
def test_hostile_bodies_are_400_and_change_nothing(site: Site, body: bytes) -> None:
    before = dump(site.engine)
    with site.as_("coordinator") as c:
        response = c.post("/api/episodes", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["exit_code"] == 2, response.text
    assert "MRN" not in response.text
    assert dump(site.engine) == before


def test_an_oversized_body_is_413_before_anything_is_read_or_done(site: Site) -> None:
    before = dump(site.engine)
    big = json.dumps({**EPISODE, "padding": "x" * 200_000}).encode()
    with site.as_("coordinator") as c:
        declared = c.post("/api/episodes", content=big, headers={"Content-Type": "application/json"})

        def chunks() -> object:
            for _ in range(30):
                yield b" " * 10_000

        streamed = c.post("/api/episodes", content=chunks(), headers={"Content-Type": "application/json"})
    for response in (declared, streamed):
        assert response.status_code == 413 and response.json()["error"]["exit_code"] == 2
        check_headers(response)
    assert dump(site.engine) == before


def test_security_headers_on_every_kind_of_response(site: Site) -> None:
    with site.as_("reviewer") as c:
        responses = [c.get("/api/health"), c.get("/api/openapi.json"), c.get("/api/nowhere"), c.get("/api/episodes"),
                     c.put("/api/episodes"), c.get("/api/report/quality?format=html")]  # fmt: skip
    assert [r.status_code for r in responses] == [200, 200, 404, 200, 405, 200]
    for response in responses:
        check_headers(response)
    assert responses[2].json()["error"]["exit_code"] == 3


def test_health_says_database_and_schema(site: Site) -> None:
    with httpx.Client(base_url=site.url) as anonymous:
        response = anonymous.get("/api/health")
    assert response.json() == {"status": "ok", "database": True, "schema_current": True}


def test_the_openapi_document_lists_every_route(site: Site) -> None:
    with httpx.Client(base_url=site.url) as anonymous:
        document = anonymous.get("/api/openapi.json").json()
    assert document["openapi"].startswith("3.")
    listed = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    served = {(r.method, r.path) for r in ROUTES}
    assert listed == served
    required = {("GET", "/api/episodes"), ("POST", "/api/episodes"), ("GET", "/api/episodes/{id}"),
                ("GET", "/api/episodes/{id}/history"), ("GET", "/api/episodes/{id}/next"),
                ("POST", "/api/episodes/{id}/advance"), ("GET", "/api/worklist"), ("POST", "/api/jobs/flag-overdue"),
                ("GET", "/api/audit/verify"), ("GET", "/api/audit/export"), ("GET", "/api/report/quality"),
                ("GET", "/api/rules"), ("GET", "/api/me"), ("POST", "/api/session"), ("DELETE", "/api/session"),
                ("GET", "/api/health"), ("GET", "/api/openapi.json")}  # fmt: skip
    assert required <= listed


def test_exports_stream_each_format_and_events_written_through_the_server_verify(site: Site) -> None:
    with site.as_("clinician") as c:
        episode = opened(c)
        c.post(f"/api/episodes/{episode}/advance", json={"trigger": "order_radiographs", "occurred_on": "2026-01-06"})
        table = list(csv.DictReader(io.StringIO(c.get("/api/audit/export?format=csv").text)))
        assert [r["trigger"] for r in table] == ["open", "order_radiographs"] and "MRN-42" not in str(table)
        assert {r["auth"] for r in table} == {"token"}
        lines = c.get("/api/audit/export?format=jsonl&identified=true").text.splitlines()
        assert [json.loads(line)["patient_ref"] for line in lines] == ["MRN-42", "MRN-42"]
        fhir = c.get("/api/audit/export?format=fhir")
        assert fhir.headers["content-type"] == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(fhir.content)).namelist()
        assert names and all(n.endswith(".ndjson") for n in names)
        assert c.get("/api/audit/verify").json()["intact"] is True
        report = c.get("/api/report/quality?format=csv")
        assert report.headers["content-type"].startswith("text/csv") and report.text.startswith("section")
        assert c.get("/api/report/quality?format=pdf").status_code == 400
        counted = c.get("/api/report/quality").json()["actors_established"]
        assert counted == {"password": 0, "oidc": 0, "token": 2, "claimed": 0}
        assert "Steps recorded, by how the actor was established" in c.get("/api/report/quality?format=html").text
    with site.engine.connect() as conn:
        assert set(conn.scalars(sa.select(EventRow.auth))) == {"token"}


def test_an_internal_error_is_one_sentence_never_a_stack_trace(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathway.services import episodes

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret detail MRN-42 at line 7")

    monkeypatch.setattr(episodes, "show_episode", broken)
    with site.as_("coordinator") as c:
        episode = opened(c)
        response = c.get(f"/api/episodes/{episode}")
    assert response.status_code == 500
    assert response.json()["error"]["message"].startswith("Internal error (RuntimeError)")
    assert "secret detail" not in response.text and "MRN-42" not in response.text
    check_headers(response)
