"""Signing in over HTTP: sessions, wrong passwords, lockout, timeouts, tokens, CSRF; all in the access log."""

from __future__ import annotations

import json
from contextlib import closing

import httpx
import pytest
import sqlalchemy as sa

from cli import cli
from pathway.db.models import AccessLogRow, EventRow, SessionRow
from tests.conftest import dump
from tests.web.conftest import PASSWORD, Site

EPISODE = {"patient_ref": "MRN-7", "side": "left", "referred_on": "2026-01-05"}


def set_password(site: Site, name: str = "kim") -> None:
    result = site.pathway.runner.invoke(cli, ["--db", site.pathway.url, "--as", "amira", "user", "password", name,
                                              "--stdin"], input=PASSWORD + "\n")  # fmt: skip
    assert result.exit_code == 0, result.output


def signed_in(site: Site, name: str = "kim", password: str = PASSWORD) -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(base_url=site.url, timeout=60)
    return client, client.post("/api/session", json={"name": name, "password": password})


def sign_in(site: Site, name: str = "kim", password: str = PASSWORD) -> httpx.Client:
    return signed_in(site, name, password)[0]


def status(site: Site, name: str = "kim", password: str = PASSWORD) -> int:
    return signed_in(site, name, password)[1].status_code


def log(site: Site) -> list[tuple[str, str, str, dict]]:
    with site.engine.connect() as conn:
        rows = conn.execute(sa.select(AccessLogRow).order_by(AccessLogRow.id)).all()
    return [(r.actor, r.action, r.outcome, {**r.detail, "auth": r.auth}) for r in rows]


def test_sign_in_sets_a_strict_cookie_and_the_session_acts_with_csrf(site: Site) -> None:
    set_password(site)
    client, response = signed_in(site)
    with closing(client):
        assert response.status_code == 201
        body = response.json()
        assert body["name"] == "kim" and body["auth"] == "password" and len(body["csrf_token"]) >= 32
        cookie = response.headers["set-cookie"]
        assert "pathway_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
        assert "Secure" not in cookie  # plain http on loopback; over https the cookie is Secure
        me = client.get("/api/me").json()
        assert me == {"name": "kim", "roles": ["coordinator"], "auth": "password", "csrf_token": body["csrf_token"]}
        opened = client.post("/api/episodes", json=EPISODE, headers={"X-CSRF-Token": body["csrf_token"]})
        assert opened.status_code == 201
    with site.engine.connect() as conn:
        event = conn.execute(sa.select(EventRow)).one()
    assert (event.actor, event.role, event.auth) == ("kim", "coordinator", "password")
    assert ("kim", "session.create", "granted", {"auth": "password"}) in log(site)
    assert PASSWORD not in json.dumps(log(site))


def test_a_change_by_cookie_without_the_csrf_token_is_refused_and_changes_nothing(site: Site) -> None:
    set_password(site)
    client = sign_in(site)
    with closing(client):
        before = dump(site.engine)
        for headers in ({}, {"X-CSRF-Token": "forged"}):
            refused = client.post("/api/episodes", json=EPISODE, headers=headers)
            assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
        assert dump(site.engine) == before
        assert client.get("/api/episodes").status_code == 200  # reading needs no CSRF token
    with site.as_("coordinator") as bearer:  # a token in a header needs none
        assert bearer.post("/api/episodes", json=EPISODE).status_code == 201


def test_every_sign_in_gets_a_new_session_id_and_sign_out_ends_it(site: Site) -> None:
    set_password(site)
    first, second = sign_in(site), sign_in(site)
    ids = {c.cookies["pathway_session"] for c in (first, second)}
    assert len(ids) == 2
    with site.engine.connect() as conn:
        stored = set(conn.scalars(sa.select(SessionRow.id_hash)))
    assert len(stored) == 2 and not ids & stored  # only hashes of the ids are kept
    secret = first.cookies["pathway_session"]
    assert first.delete("/api/session").status_code == 204
    replay = httpx.Client(base_url=site.url, cookies={"pathway_session": secret})
    assert replay.get("/api/me").status_code == 401  # a stolen copy of the cookie is dead too
    assert second.get("/api/me").status_code == 200
    assert ("kim", "session.delete", "granted", {"auth": "password"}) in log(site)


def test_wrong_password_unknown_user_and_no_password_all_say_the_same(site: Site) -> None:
    set_password(site)
    answers = []
    for name, password in (("kim", "wrong password!!"), ("nobody", PASSWORD), ("rey", PASSWORD)):
        response = signed_in(site, name, password)[1]
        assert response.status_code == 401 and "set-cookie" not in response.headers
        answers.append(response.json())
    assert answers[0] == answers[1] == answers[2]
    reasons = [(a, o, d["reason"]) for a, action, o, d in log(site) if action == "session.create"]
    assert reasons == [("kim", "refused", "wrong password"), ("nobody", "refused", "unknown user"),
                       ("rey", "refused", "wrong password")]  # fmt: skip
    assert "wrong password!!" not in json.dumps(log(site))


def test_seven_failures_lock_the_user_for_five_minutes_then_the_lock_expires(site: Site) -> None:
    set_password(site)
    for _ in range(6):
        assert status(site, password="not the password") == 401
    assert status(site) == 201  # 6 failures: still fine
    for _ in range(7):
        assert status(site, password="not the password") == 401
    locked = signed_in(site)[1]  # the right password, but locked
    assert locked.status_code == 401 and "locked" in locked.json()["error"]["message"]
    assert [e for e in log(site) if e[1] == "session.lockout"][0][3]["failures"] == 7
    site.clock.advance(minutes=4, seconds=59)
    assert status(site) == 401
    site.clock.advance(seconds=2)
    assert status(site) == 201
    assert status(site, "cleo", "whatever it is") == 401


def test_failures_outside_the_window_do_not_count(site: Site) -> None:
    set_password(site)
    for _ in range(6):
        sign_in(site, password="not the password")
    site.clock.advance(minutes=16)
    for _ in range(6):
        sign_in(site, password="not the password")
    assert status(site) == 201


def test_a_session_ends_after_30_idle_minutes(site: Site) -> None:
    set_password(site)
    client = sign_in(site)
    with closing(client):
        site.clock.advance(minutes=29)
        assert client.get("/api/me").status_code == 200  # activity moves the idle deadline on
        site.clock.advance(minutes=29)
        assert client.get("/api/me").status_code == 200
        site.clock.advance(minutes=30, seconds=1)
        expired = client.get("/api/me")
        assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]


def test_a_busy_session_still_ends_after_12_hours(site: Site) -> None:
    set_password(site)
    client = sign_in(site)
    with closing(client):
        for _ in range(47):
            site.clock.advance(minutes=15)
            assert client.get("/api/me").status_code == 200
        site.clock.advance(minutes=15, seconds=1)
        assert client.get("/api/me").status_code == 401
    with site.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(SessionRow)) == 1
    assert status(site) == 201  # the next sign-in forgets the dead session
    with site.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(SessionRow)) == 1


def test_a_token_stops_working_when_it_expires_or_is_revoked(site: Site) -> None:
    pathway = site.pathway
    expiring = pathway.json("--as", "amira", "user", "token", "create", "kim", "--expires", "1")["token"]
    revoked = pathway.json("--as", "amira", "user", "token", "create", "kim", "--note", "to revoke")["token"]
    clients = {t: httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {t}"})
               for t in (expiring, revoked)}  # fmt: skip
    assert clients[expiring].get("/api/me").json() == {"name": "kim", "roles": ["coordinator"], "auth": "token"}
    # the token was made by the CLI on the real clock, seconds after the server clock started
    site.clock.advance(hours=23, minutes=58)
    assert clients[expiring].get("/api/me").status_code == 200
    site.clock.advance(minutes=3)
    assert clients[expiring].get("/api/me").status_code == 401
    assert clients[revoked].get("/api/me").status_code == 200
    token_id = next(t["id"] for t in pathway.json("--as", "amira", "user", "token", "list", "kim")
                    if t["note"] == "to revoke")  # fmt: skip
    pathway.ok("--as", "amira", "user", "token", "revoke", "kim", str(token_id))
    assert clients[revoked].get("/api/me").status_code == 401
    with site.as_("coordinator") as c:
        assert c.get("/api/me").status_code == 200  # kim's other token still works
    assert ("amira", "user.token.revoke", "granted", {"user": "kim", "token_id": token_id, "auth": "claimed"}) in log(
        site)


def test_a_disabled_users_session_and_token_stop_working(site: Site) -> None:
    set_password(site)
    client = sign_in(site)
    with closing(client):
        site.pathway.ok("--as", "amira", "user", "disable", "kim")
        assert client.get("/api/me").status_code == 401
    with site.as_("coordinator") as c:
        assert c.get("/api/me").status_code == 401
    assert status(site) == 401


def test_a_token_notes_when_it_was_last_used(site: Site) -> None:
    token = site.pathway.json("--as", "amira", "user", "token", "create", "rey", "--note", "fresh")["token"]

    def last_used() -> str | None:
        listed = site.pathway.json("--as", "amira", "user", "token", "list", "rey")
        return next(t["last_used_at"] for t in listed if t["note"] == "fresh")

    assert last_used() is None
    with httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {token}"}) as c:
        c.get("/api/me")
        first = last_used()
        assert first is not None
        site.clock.advance(seconds=30)
        c.get("/api/me")
        assert last_used() == first  # not a write on every call
        site.clock.advance(seconds=31)
        c.get("/api/me")
        later = last_used()
        assert later is not None and later > first


def test_behind_an_https_proxy_the_cookie_is_secure(site: Site) -> None:
    set_password(site)
    with httpx.Client(base_url=site.url, headers={"X-Forwarded-Proto": "https"}) as client:
        response = client.post("/api/session", json={"name": "kim", "password": PASSWORD})
    assert response.status_code == 201 and "Secure" in response.headers["set-cookie"]
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_lifetimes_and_lockout_are_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from pathway.errors import InvalidInput
    from pathway.web.settings import Settings

    monkeypatch.setenv("PATHWAY_SESSION_IDLE_MINUTES", "10")
    monkeypatch.setenv("PATHWAY_SESSION_MAX_HOURS", "8")
    monkeypatch.setenv("PATHWAY_LOCKOUT_FAILURES", "3")
    monkeypatch.setenv("PATHWAY_LOCKOUT_WINDOW_MINUTES", "5")
    monkeypatch.setenv("PATHWAY_LOCKOUT_MINUTES", "20")
    policy = Settings.from_environment().policy
    assert (policy.idle, policy.absolute, policy.failures, policy.window, policy.lock) == (
        timedelta(minutes=10), timedelta(hours=8), 3, timedelta(minutes=5), timedelta(minutes=20))
    monkeypatch.setenv("PATHWAY_LOCKOUT_FAILURES", "zero")
    with pytest.raises(InvalidInput, match="PATHWAY_LOCKOUT_FAILURES"):
        Settings.from_environment()


def test_a_cross_site_form_cannot_sign_anyone_in(site: Site) -> None:
    set_password(site)
    body = json.dumps({"name": "kim", "password": PASSWORD})
    with httpx.Client(base_url=site.url) as browser:
        for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
            response = browser.post("/api/session", content=body, headers={"Content-Type": kind})
            assert response.status_code == 400 and "set-cookie" not in response.headers, kind
