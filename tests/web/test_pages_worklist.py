"""The sign-in page and the worklist page, over a real server, as a browser uses them."""

from __future__ import annotations

import re

import httpx

from tests.walk import episode_before
from tests.web.conftest import PASSWORD, Site
from tests.web.pages import browser, csrf_of, post, set_password


def _overdue(site: Site, patient: str) -> int:
    """An episode whose radiograph report is long overdue (ordered in January; the job has flagged it)."""
    eid = episode_before(site.pathway, "record_radiographs", patient, user="kim")
    site.pathway.ok("--as", "cron", "jobs", "flag-overdue")
    return eid


def test_a_visitor_is_sent_to_sign_in_and_back_to_the_page_they_wanted(site: Site) -> None:
    set_password(site, "kim")
    with httpx.Client(base_url=site.url, timeout=60) as client:
        first = client.get("/?kind=radiograph_report")
        assert first.status_code == 303 and first.headers["location"] == "/login?next=%2F%3Fkind%3Dradiograph_report"
        form = client.get(first.headers["location"])
        assert 'name="next" value="/?kind=radiograph_report"' in form.text
        answer = client.post("/login", data={"csrf_token": csrf_of(form.text), "name": "kim", "password": PASSWORD,
                                             "next": "/?kind=radiograph_report"})  # fmt: skip
        assert answer.status_code == 303 and answer.headers["location"] == "/?kind=radiograph_report"
        page = client.get("/?kind=radiograph_report")
        assert page.status_code == 200 and "<h1>Worklist" in page.text and "kim" in page.text


def test_sign_in_refuses_a_wrong_password_next_to_the_form_and_never_another_site(site: Site) -> None:
    set_password(site, "kim")
    with httpx.Client(base_url=site.url, timeout=60) as client:
        form = client.get("/login")
        wrong = client.post("/login", data={"csrf_token": csrf_of(form.text), "name": "kim", "password": "nope"})
        assert wrong.status_code == 401 and 'role="alert"' in wrong.text and "pathway_session" not in client.cookies
        assert 'value="kim"' in wrong.text  # the name is kept, the password never echoed
        again = client.post("/login", data={"csrf_token": csrf_of(wrong.text), "name": "kim", "password": PASSWORD,
                                            "next": "//evil.example/x"})  # fmt: skip
        assert again.status_code == 303 and again.headers["location"] == "/"


def test_a_sign_in_form_from_another_site_is_refused(site: Site) -> None:
    set_password(site, "kim")
    with httpx.Client(base_url=site.url, timeout=60) as client:
        answer = client.post("/login", data={"csrf_token": "forged", "name": "kim", "password": PASSWORD})
        assert answer.status_code == 403 and "pathway_session" not in client.cookies


def test_the_worklist_shows_the_overdue_patient_with_a_link_to_their_page(site: Site) -> None:
    eid = _overdue(site, "MRN-OVERDUE-1")
    with browser(site) as client:
        page = client.get("/")
        assert page.status_code == 200
        row = re.search(r'<tr class="overdue">(.*?)</tr>', page.text, re.S)
        assert row and f'href="/episodes/{eid}">MRN-OVERDUE-1<' in row.group(1) and "radiograph report" in row.group(1)
        assert "Content-Security-Policy" in page.headers or "content-security-policy" in page.headers
        empty = client.get("/?kind=mri_report")
        assert "MRN-OVERDUE-1" not in empty.text and "Nothing is due for these filters" in empty.text


def test_filters_are_refused_clearly_when_they_name_nothing(site: Site) -> None:
    with browser(site) as client:
        page = client.get("/?state=limbo")
        assert page.status_code == 400 and "There is no state &#39;limbo&#39;" in page.text


def test_search_is_posted_case_insensitive_partial_and_needs_three_characters(site: Site) -> None:
    _overdue(site, "MRN-SEARCH-42")
    _overdue(site, "MRN-OTHER-7")
    with browser(site) as client:
        found = post(client, "/", "/search", {"q": "search-4"})
        assert found.status_code == 200 and "MRN-SEARCH-42" in found.text and "MRN-OTHER-7" not in found.text
        short = post(client, "/", "/search", {"q": "mr"})
        assert short.status_code == 400 and "at least 3 characters" in short.text
        wild = post(client, "/", "/search", {"q": "%%%"})
        assert "MRN-SEARCH-42" not in wild.text  # a LIKE wildcard is searched for, not obeyed
        csv = post(client, "/", "/search", {"q": "search", "format": "csv"})
        assert csv.headers["content-type"].startswith("text/csv") and "MRN-SEARCH-42" in csv.text
        forged = client.post("/search", data={"csrf_token": "x", "q": "search"})
        assert forged.status_code == 403 and "MRN-SEARCH-42" not in forged.text


def test_the_current_view_downloads_as_csv_and_pages_on(site: Site) -> None:
    _overdue(site, "MRN-CSV-1")
    with browser(site) as client:
        csv = client.get("/worklist.csv?overdue=1")
        lines = csv.text.splitlines()
        assert lines[0].startswith("episode_id,patient_ref,side,state,kind") and "MRN-CSV-1" in lines[1]
        assert "attachment" in csv.headers["content-disposition"]
        assert "Next page" not in client.get("/").text


def test_signing_out_ends_the_session(site: Site) -> None:
    with browser(site) as client:
        page = client.get("/")
        out = client.post("/logout", data={"csrf_token": csrf_of(page.text)})
        assert out.status_code == 303 and out.headers["location"] == "/login?signed_out=1"
        assert client.get("/").status_code == 303


def _statements(site: Site, client: httpx.Client, path: str) -> int:
    import sqlalchemy as sa

    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        seen.append(statement)

    sa.event.listen(site.engine, "before_cursor_execute", note)
    try:
        assert client.get(path).status_code == 200
    finally:
        sa.event.remove(site.engine, "before_cursor_execute", note)
    return len(seen)


def test_the_worklist_page_costs_the_same_queries_for_two_rows_as_for_a_full_page(site: Site) -> None:
    for n in range(2):
        _overdue(site, f"MRN-Q-{n}")
    with browser(site) as client:
        client.get("/")  # the session's first use may move its idle deadline: not what is measured
        few = _statements(site, client, "/")
        for n in range(2, 55):
            site.pathway.ok("--as", "kim", "episode", "open", "--patient", f"MRN-Q-{n}", "--side", "left",
                            "--referred-on", "2026-01-05")  # fmt: skip
            site.pathway.ok("--as", "kim", "advance", str(n + 1), "order_radiographs", "--on", "2026-01-06")
        site.pathway.ok("--as", "cron", "jobs", "flag-overdue")
        page = client.get("/")
        assert page.text.count('<tr class="overdue">') == 50 and "Next page" in page.text
        assert _statements(site, client, "/") == few
        assert "Previous page" in client.get("/?page=2").text
