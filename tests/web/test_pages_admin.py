"""The rule-set, user, token, quality-report and audit pages, over a real server, as a browser uses them.

Every route is tried by every role (and by nobody signed in): a role the matrix allows
gets its page or its redirect, every other role the 403 page with nothing changed.
Then each page's own behaviour: refusals next to the field, the last administrator
kept, a token shown once, a diff, an activation, a period, a tampered chain.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from pathway.domain.access import MATRIX, ROLES
from pathway.domain.rules import CATALOGUE
from pathway.web.pages import ROUTES
from pathway.web.pages.rules import GROUPS
from tests.conftest import dump
from tests.integration.test_audit_verify import without_triggers
from tests.walk import episode_before
from tests.web.conftest import Site
from tests.web.pages import browser, csrf_of, post

AREAS = ("/rules", "/users", "/report", "/audit")


def _draft(site: Site, minimum: int = 120) -> int:
    """A draft rule set: version 1 with a longer minimum of conservative care."""
    with site.as_("admin") as c:
        toml = c.get("/api/rules/1/export").json()["toml"]
        changed = toml.replace("[conservative_min_days]\nvalue = 90", f"[conservative_min_days]\nvalue = {minimum}")
        assert changed != toml
        return int(c.post("/api/rules", json={"toml": changed, "note": "longer first line"}).json()["version"])


_fresh = iter(range(1, 10_000))


def _user(site: Site, *, role: str = "coordinator", disabled: bool = False) -> str:
    name = f"temp{next(_fresh)}"
    site.pathway.ok("--as", "amira", "user", "add", name, "--role", role)
    if disabled:
        site.pathway.ok("--as", "amira", "user", "disable", name)
    return name


def _token(site: Site, name: str) -> int:
    site.pathway.ok("--as", "amira", "user", "token", "create", name, "--note", "x")
    return int(site.pathway.json("--as", "amira", "user", "token", "list", name)[-1]["id"])


@dataclass(frozen=True)
class Case:
    method: str
    route: str
    actions: tuple[str, ...]  # what the matrix must grant (empty: anyone signed in)
    ok: int
    build: Callable[[Site], tuple[str, dict[str, str]]]  # a fresh target: (path, form)


def _tokens_of_new(site: Site) -> tuple[str, dict[str, str]]:
    name = _user(site)
    return f"/users/{name}/tokens/{_token(site, name)}/revoke", {}


CASES = [
    Case("GET", "/rules", ("rules.list",), 200, lambda s: ("/rules", {})),
    Case("GET", "/rules/diff", ("rules.diff",), 200, lambda s: (f"/rules/diff?from=1&to={_draft(s)}", {})),
    Case("GET", "/rules/{id}", ("rules.show",), 200, lambda s: ("/rules/1", {})),
    Case("POST", "/rules/{id}/activate", ("rules.activate",), 303,
         lambda s: (f"/rules/{_draft(s)}/activate", {"confirm": "yes"})),
    Case("GET", "/users", ("user.list",), 200, lambda s: ("/users", {})),
    Case("POST", "/users", ("user.add",), 303,
         lambda s: ("/users", {"name": f"new{next(_fresh)}", "role": "reviewer"})),
    Case("POST", "/users/{name}/disable", ("user.disable",), 303, lambda s: (f"/users/{_user(s)}/disable", {})),
    Case("POST", "/users/{name}/enable", ("user.enable",), 303,
         lambda s: (f"/users/{_user(s, disabled=True)}/enable", {})),
    Case("POST", "/users/{name}/roles", ("user.add",), 303,
         lambda s: (f"/users/{_user(s)}/roles", {"role": "reviewer"})),
    Case("POST", "/users/{name}/roles/{role}/revoke", ("user.revoke",), 303,
         lambda s: (f"/users/{_user(s)}/roles/coordinator/revoke", {})),
    Case("GET", "/users/{name}/digest", ("user.set",), 200, lambda s: (f"/users/{_user(s)}/digest", {})),
    Case("POST", "/users/{name}/digest", ("user.set",), 303,
         lambda s: (f"/users/{_user(s)}/digest", {"email": "someone@clinic.test", "digest": "weekly"})),
    Case("GET", "/users/{name}/tokens", ("user.token",), 200, lambda s: (f"/users/{_user(s)}/tokens", {})),
    Case("POST", "/users/{name}/tokens", ("user.token",), 200,
         lambda s: (f"/users/{_user(s)}/tokens", {"note": "cron", "expires": "30"})),
    Case("POST", "/users/{name}/tokens/{id}/revoke", ("user.token",), 303, _tokens_of_new),
    Case("GET", "/report", ("report.quality",), 200, lambda s: ("/report?since=2026-01-01&until=2026-12-31", {})),
    Case("GET", "/audit", ("audit.access", "audit.verify"), 200, lambda s: ("/audit", {})),
]  # fmt: skip


def _signed_in(site: Site) -> dict[str, httpx.Client]:
    return {role: browser(site, role) for role in ROLES}


def _unchanged_but_the_refusal(before: dict[str, list[Any]], after: dict[str, list[Any]], where: Any) -> None:
    assert len(after.pop("access_log")) == len(before.pop("access_log")) + 1, where  # the refusal is logged
    after.pop("access_log_head"), before.pop("access_log_head")
    assert after == before, where


def test_the_cases_cover_every_route_of_these_pages() -> None:
    mine = {(r.method, r.path) for r in ROUTES if r.path.startswith(AREAS)}
    assert {(c.method, c.route) for c in CASES} == mine


def test_every_rule_of_the_catalogue_is_shown_in_a_named_group() -> None:
    placed = [key for _, keys in GROUPS for key in keys]
    assert sorted(placed) == sorted(CATALOGUE) and len(placed) == len(set(placed))


def test_every_route_and_role(site: Site) -> None:
    """One server per back end for the whole table (a server per case would dwarf the calls)."""
    clients = _signed_in(site)
    for case in CASES:
        for role in ROLES:
            path, form = case.build(site)
            allowed = all(action in MATRIX[role] for action in case.actions)
            client = clients[role]
            token = csrf_of(client.get("/rules").text)
            before = None if allowed else dump(site.engine)
            answer = client.request(case.method, path, data={"csrf_token": token, **form} if case.method == "POST"
                                    else None)  # fmt: skip
            where = (case.method, path, role, answer.text[:400])
            if allowed:
                assert answer.status_code == case.ok, where
                assert answer.status_code != 200 or "<h1>" in answer.text, where
            else:
                assert answer.status_code == 403 and "That could not be done" in answer.text, where
                assert "Nothing was changed" in answer.text, where
                _unchanged_but_the_refusal(before or {}, dump(site.engine), where)
        path, form = case.build(site)
        with httpx.Client(base_url=site.url, timeout=60) as anonymous:
            answer = anonymous.request(case.method, path, data=form or None)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), (case.route, path)
    for client in clients.values():
        client.close()


def test_everyone_manages_their_own_tokens_but_nobody_elses(site: Site) -> None:
    with browser(site, "coordinator") as kim:
        own = kim.get("/users/kim/tokens")
        assert own.status_code == 200 and "API tokens of kim" in own.text
        assert kim.get("/users/amira/tokens").status_code == 403
        made = post(kim, "/users/kim/tokens", "/users/kim/tokens", {"note": "my laptop", "expires": "7"})
        assert made.status_code == 200 and "copy it now" in made.text


def test_everyone_sets_their_own_email_digest_and_admins_anyone_s(site: Site) -> None:
    with browser(site, "coordinator") as kim:
        page = kim.get("/")
        assert 'href="/users/kim/digest"' in page.text  # from every page's header
        own = kim.get("/users/kim/digest")
        assert own.status_code == 200 and "Worklist by email for kim" in own.text and 'value="off" checked' in own.text
        saved = post(kim, "/users/kim/digest", "/users/kim/digest", {"email": "kim@clinic.test", "digest": "daily"})
        assert saved.status_code == 303 and saved.headers["location"] == "/users/kim/digest?done=digest-saved"
        shown = kim.get(saved.headers["location"]).text
        assert "Saved" in shown and 'value="kim@clinic.test"' in shown and 'value="daily" checked' in shown
        assert kim.get("/users/amira/digest").status_code == 403
    assert site.pathway.json("--as", "kim", "user", "set", "kim", "--digest", "daily")["email"] == "kim@clinic.test"
    with browser(site, "admin") as amira:
        assert "Email digest" in amira.get("/users").text
        done = post(amira, "/users", "/users/cleo/digest", {"email": "cleo@clinic.test", "digest": "weekly"})
        assert done.status_code == 303
        assert 'href="/users/amira/digest"' not in amira.get("/rules").text  # an admin gets no digest: no header link
        assert "gets none until they are one" in amira.get("/users/rey/digest").text  # a reviewer
        assert "gets none until" not in amira.get("/users/cleo/digest").text
        listed = amira.get("/users").text
        assert "weekly to cleo@clinic.test" in _row(listed, "cleo") and "daily to kim@clinic.test" in _row(listed, "kim")
        assert ">off<" in _row(listed, "amira")
    assert [(r["actor"], r["outcome"]) for r in _log(site, "user.set")] == [
        ("kim", "granted"), ("kim", "refused"), ("amira", "granted")]  # fmt: skip


@pytest.mark.parametrize(("form", "error_id", "says"), [
    ({"email": "kim@clinic", "digest": "daily"}, "digest-email-error", "is not an email address"),
    ({"email": "", "digest": "daily"}, "digest-email-error", "A digest needs an address"),
    ({"email": "kim@clinic.test", "digest": "hourly"}, "digest-error", "--digest is one of"),
])  # fmt: skip
def test_a_bad_digest_setting_is_shown_next_to_its_field_and_changes_nothing(
    site: Site, form: dict[str, str], error_id: str, says: str
) -> None:
    with browser(site, "coordinator") as kim:
        before = dump(site.engine)
        answer = post(kim, "/users/kim/digest", "/users/kim/digest", form)
        assert answer.status_code == 400, answer.text[:400]
        error = re.search(rf'<p class="error" id="{error_id}">([^<]*)</p>', answer.text)
        assert error and says in error.group(1), answer.text
        assert f'value="{form["email"]}"' in answer.text  # what was typed stays in the form
        assert dump(site.engine) == before


def _log(site: Site, action: str) -> list[dict[str, Any]]:
    with site.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT actor, action, outcome FROM access_log ORDER BY id")).mappings().all()
    return [dict(r) for r in rows if r["action"] == action]


def _row(html: str, name: str) -> str:
    match = re.search(rf'<tr[^>]*>\s*<th scope="row">{re.escape(name)}</th>(.*?)</tr>', html, re.S)
    assert match, f"no row for {name}"
    return match.group(1)


def test_an_admin_adds_a_user_gives_and_revokes_roles_and_disables_and_enables_them(site: Site) -> None:
    with browser(site, "admin") as amira:
        added = post(amira, "/users", "/users", {"name": "bo.smith", "role": "coordinator"})
        assert added.status_code == 303 and added.headers["location"] == "/users?done=added&user=bo.smith"
        page = amira.get(added.headers["location"])
        assert "User bo.smith was added." in page.text and "coordinator" in _row(page.text, "bo.smith")
        given = post(amira, "/users", "/users/bo.smith/roles", {"role": "clinician"})
        assert given.status_code == 303
        bo = next(u for u in site.pathway.json("--as", "amira", "user", "list") if u["name"] == "bo.smith")
        assert sorted(bo["roles"]) == ["clinician", "coordinator"]
        taken = post(amira, "/users", "/users/bo.smith/roles/coordinator/revoke", {})
        assert taken.status_code == 303
        row = _row(amira.get("/users").text, "bo.smith")
        assert "clinician" in row and "the coordinator role from bo.smith" not in row
        off = post(amira, "/users", "/users/bo.smith/disable", {})
        assert off.status_code == 303
        row = _row(amira.get("/users").text, "bo.smith")
        assert "no, since" in row and ">Enable<" in row
        listed = site.pathway.json("--as", "amira", "user", "list")
        assert not next(u for u in listed if u["name"] == "bo.smith")["active"]
        on = post(amira, "/users", "/users/bo.smith/enable", {})
        assert on.status_code == 303 and ">Disable<" in _row(amira.get("/users").text, "bo.smith")
        unknown = post(amira, "/users", "/users/nobody/roles", {"role": "reviewer"})
        assert unknown.status_code == 404 and "There is no user nobody" in unknown.text
        assert "nobody" not in [u["name"] for u in site.pathway.json("--as", "amira", "user", "list")]


def test_the_last_admin_can_neither_lose_the_role_nor_be_disabled(site: Site) -> None:
    with browser(site, "admin") as amira:
        before = dump(site.engine)
        for path in ("/users/amira/roles/admin/revoke", "/users/amira/disable"):
            answer = post(amira, "/users", path, {})
            assert answer.status_code == 400, answer.text
            assert "amira is the last active administrator" in _row(answer.text, "amira")
            assert "Nothing was changed" in answer.text
        assert dump(site.engine) == before
        site.pathway.ok("--as", "amira", "user", "add", "kim", "--role", "admin")
        assert post(amira, "/users", "/users/amira/roles/admin/revoke", {}).status_code == 303


def test_bad_or_hostile_names_and_roles_are_refused_next_to_their_field(site: Site) -> None:
    with browser(site, "admin") as amira:
        before = dump(site.engine)
        hostile = post(amira, "/users", "/users", {"name": "<script>alert(1)</script>", "role": "admin"})
        assert hostile.status_code == 400
        assert "<script>alert" not in hostile.text and 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in hostile.text
        assert re.search(r'id="add-name-error">A user name is 1-128', hostile.text)
        no_role = post(amira, "/users", "/users", {"name": "fine", "role": "wizard"})
        assert no_role.status_code == 400 and re.search(r'id="add-role-error">There is no role', no_role.text)
        taken = post(amira, "/users", "/users", {"name": "kim", "role": "reviewer"})
        assert taken.status_code == 409 and re.search(r'id="add-name-error">There is already a user kim', taken.text)
        bad_role = post(amira, "/users", "/users/kim/roles", {"role": "<b>boss</b>"})
        assert bad_role.status_code == 400 and "<b>boss" not in bad_role.text
        assert "There is no role" in _row(bad_role.text, "kim")
        odd = post(amira, "/users", "/users/%3Cscript%3E/disable", {})
        assert odd.status_code == 400 and "A user name is 1-128" in odd.text
        assert "<script>" not in odd.text.split("<main")[1]
        forged_note = amira.get("/users?done=disabled&user=kim")
        assert "kim is disabled" not in forged_note.text  # a link cannot make up a notice the list contradicts
        assert dump(site.engine) == before


def test_a_token_is_shown_once_works_as_a_bearer_and_is_refused_after_revoke(site: Site) -> None:
    with browser(site, "admin") as amira:
        made = post(amira, "/users", "/users/cleo/tokens", {"note": "<script>x</script> backups", "expires": "30"})
        assert made.status_code == 200 and "copy it now" in made.text
        secret = re.search(r'id="new-token"[^>]*value="(pw_[^"]+)"', made.text)
        assert secret, made.text
        token = secret.group(1)
        assert token not in str(made.url) and "<script>x" not in made.text
        listed = amira.get("/users/cleo/tokens")
        assert token not in listed.text and "&lt;script&gt;x&lt;/script&gt; backups" in listed.text
        with httpx.Client(base_url=site.url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as api:
            assert api.get("/api/me").json()["name"] == "cleo"
            token_id = re.search(r'action="/users/cleo/tokens/(\d+)/revoke"', listed.text.split("backups")[1])
            assert token_id
            revoked = post(amira, "/users/cleo/tokens", f"/users/cleo/tokens/{token_id.group(1)}/revoke", {})
            assert revoked.status_code == 303 and "is revoked" in amira.get(revoked.headers["location"]).text
            assert api.get("/api/me").status_code == 401


def test_token_fields_are_refused_next_to_the_field(site: Site) -> None:
    with browser(site, "admin") as amira:
        before = dump(site.engine)
        long = post(amira, "/users", "/users/cleo/tokens", {"note": "n", "expires": "0"})
        assert long.status_code == 400 and re.search(r'id="token-expires-error">Expires after is a whole', long.text)
        odd = post(amira, "/users", "/users/cleo/tokens", {"note": "a\x07b", "expires": ""})
        assert odd.status_code == 400 and 'id="token-note-error"' in odd.text and 'id="new-token"' not in odd.text
        assert dump(site.engine) == before


def test_the_diff_shows_a_changed_value_and_an_admin_activates_the_draft(site: Site) -> None:
    draft = _draft(site)
    with browser(site, "coordinator") as kim:
        listing = kim.get("/rules")
        assert f'href="/rules/{draft}">Version {draft}<' in listing.text and 'action="/rules/diff"' in listing.text
        diff = kim.get(f"/rules/diff?from=1&to={draft}")
        row = re.search(r"<tr class=\"change-changed\">(.*?)</tr>", diff.text, re.S)
        assert row and "conservative_min_days" in row.group(1)
        assert '<td data-label="Old">90 days</td>' in row.group(1)
        assert '<td data-label="New">120 days</td>' in row.group(1)
        shown = kim.get(f"/rules/{draft}")
        assert "Conservative care and reassessment" in shown.text and "minimum conservative care" in shown.text
        assert 'action="/rules/' not in shown.text  # no activate form for a coordinator
        bad = kim.get("/rules/diff?from=one&to=99")
        assert bad.status_code == 400 and re.search(r'id="diff-from-error">The first rule set is a version', bad.text)
        missing = kim.get("/rules/diff?from=1&to=99")
        assert missing.status_code == 404
        assert re.search(r'id="diff-to-error">There is no rule set version 99', missing.text)
        assert kim.get("/rules/diff?from=1&to=1").status_code == 200
    with browser(site, "admin") as amira:
        before = dump(site.engine)
        unticked = post(amira, f"/rules/{draft}", f"/rules/{draft}/activate", {})
        assert unticked.status_code == 400 and re.search(r'id="confirm-error">Tick the box', unticked.text)
        assert dump(site.engine) == before
        done = post(amira, f"/rules/{draft}", f"/rules/{draft}/activate", {"confirm": "yes"})
        assert done.status_code == 303 and done.headers["location"] == f"/rules/{draft}?activated=1"
        assert f"Version {draft} is active" in amira.get(done.headers["location"]).text
        statuses = {r["version"]: r["status"] for r in site.pathway.json("--as", "amira", "rules", "list")}
        assert statuses == {1: "retired", draft: "active"}
        retired = post(amira, "/rules/1", "/rules/1/activate", {"confirm": "yes"})
        assert retired.status_code == 400 and "Rule set v1 is retired and stays so" in retired.text
        assert amira.get("/rules/999").status_code == 404


def test_the_report_shows_the_figures_of_the_period_chosen(site: Site) -> None:
    episode_before(site.pathway, "confirm_diagnosis", "MRN-REPORT-1", user="kim")
    episode_before(site.pathway, "record_radiographs", "MRN-REPORT-2", user="kim")
    with browser(site, "reviewer") as rey:
        page = rey.get("/report?since=2026-01-01&until=2026-12-31")
        assert page.status_code == 200 and "From 2026-01-01 to 2026-12-31" in page.text
        opened = re.search(r"Episodes opened \(referral date in the period\).*?</table>", page.text, re.S)
        assert opened and re.search(r'<th scope="row">Total</th><td class="num">2</td>', opened.group(0))
        assert page.text.count('src="data:image/svg+xml;base64,') == 5 and "MRN-REPORT" not in page.text
        assert 'href="/api/report/quality?format=html&amp;since=2026-01-01&amp;until=2026-12-31' in page.text
        standalone = rey.get("/api/report/quality?format=html&since=2026-01-01&until=2026-12-31")
        assert standalone.status_code == 200 and "quality review" in standalone.text
        later = rey.get("/report?since=2027-01-01")
        assert re.search(r'<th scope="row">Total</th><td class="num">0</td>', later.text)
        bad = rey.get("/report?since=2026-13-01&until=2026-12-31")
        assert bad.status_code == 400 and re.search(r'id="report-since-error">The start date', bad.text)
        assert 'value="2026-13-01"' in bad.text and "Episodes opened" not in bad.text
        swapped = rey.get("/report?since=2026-12-31&until=2026-01-01")
        assert swapped.status_code == 400 and re.search(r'id="report-until-error">The end date 2026-01-01 is before',
                                                        swapped.text)  # fmt: skip


def test_the_audit_page_shows_intact_chains_and_the_access_log_filtered_and_paged(site: Site) -> None:
    eid = episode_before(site.pathway, "order_mri", "MRN-AUDIT-1", user="kim")
    with browser(site, "coordinator") as kim:
        assert kim.get("/audit").status_code == 403  # refused, and that refusal is logged
    with browser(site, "reviewer") as rey:
        page = rey.get("/audit")
        assert page.status_code == 200 and "Intact:" in page.text and "3 events" in page.text
        rows = re.findall(r'<tr class="outcome-(\w+)">(.*?)</tr>', page.text, re.S)
        assert any(o == "refused" and ">kim<" in r and ">audit.access<" in r for o, r in rows)
        assert any(">rey<" in r and "password" in r for _, r in rows)  # rey's own sign-in
        assert "MRN-AUDIT" not in page.text
        kims = rey.get("/audit?user=kim")
        assert all(">kim<" in r for _, r in re.findall(r'<tr class="outcome-(\w+)">(.*?)</tr>', kims.text, re.S))
        one = rey.get("/audit?limit=1")
        assert one.text.count('<tr class="outcome-') == 1 and 'href="/audit?limit=1&amp;page=2">Older rows' in one.text
        second = rey.get("/audit?limit=1&page=2")
        assert 'href="/audit?limit=1">Newer rows' in second.text
        bad = rey.get("/audit?since=yesterday&episode=x")
        assert bad.status_code == 400 and re.search(r'id="a-since-error">The first day', bad.text)
        assert re.search(r'id="a-episode-error">The episode is a whole number', bad.text)
        with without_triggers(site.engine) as conn:
            conn.execute(sa.text("UPDATE events SET occurred_on = '2026-01-07' WHERE episode_id = :e AND seq = 2"),
                         {"e": eid})  # fmt: skip
        broken = rey.get("/audit")
        assert broken.status_code == 200 and "Not intact." in broken.text
        assert f'<a href="/episodes/{eid}">Episode {eid}</a>' in broken.text


def test_a_forged_or_missing_csrf_token_is_refused_and_changes_nothing(site: Site) -> None:
    draft = _draft(site)
    with browser(site, "admin") as amira:
        before = dump(site.engine)
        for path, form in (("/users", {"name": "mallory", "role": "admin"}), ("/users/kim/disable", {}),
                           ("/users/kim/roles/coordinator/revoke", {}), ("/users/kim/tokens", {"note": "x"}),
                           (f"/rules/{draft}/activate", {"confirm": "yes"})):  # fmt: skip
            for token in ({"csrf_token": "forged"}, {}):
                answer = amira.post(path, data={**token, **form})
                assert answer.status_code == 403 and "did not come from pathway" in answer.text, path
        assert dump(site.engine) == before
